package metrics

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// The field numbers of Endpoint.phases and Endpoint.protocols, and of
// PhaseSketch.sketch (snapshot.proto), for prescan.
const (
	fieldEndpointPhases    protowire.Number = 8
	fieldEndpointProtocols protowire.Number = 9
	fieldPhaseSketch       protowire.Number = 2
)

// The most phase and protocol entries of one endpoint on the wire: far
// more than the phases and protocols there are, so that a newer writer's
// additions still read, but a bound on what a decoder allocates.
const (
	maxPhaseEntries = 64
	maxProtoEntries = 64
)

// phasesToProto encodes the phases that were recorded, in phase order, so
// that equal endpoints encode alike. An endpoint without phases has none
// on the wire: it encodes as it did before phases existed.
func phasesToProto(ps *PhaseSketches) []*snapshotpb.PhaseSketch {
	var out []*snapshotpb.PhaseSketch
	for p := range NumPhases {
		if s := ps.Sketch(p); s != nil && s.Count() > 0 {
			out = append(out, &snapshotpb.PhaseSketch{Name: p.String(), Sketch: sketchToProto(s)})
		}
	}
	return out
}

// protosToProto encodes the non-zero protocol counts in protocol order.
func protosToProto(c *[NumProtos]int64) []*snapshotpb.ProtoCount {
	var out []*snapshotpb.ProtoCount
	for p, n := range c {
		if n != 0 {
			out = append(out, &snapshotpb.ProtoCount{Name: Proto(p).String(), Count: n})
		}
	}
	return out
}

// phasesFromProto decodes and checks pe's phases and protocols into e:
// each known phase at most once and with a sketch of no more durations
// than e's requests (a phase a newer writer knows is skipped), protocol
// counts ≥ 0 that add up to no more than the requests (a protocol a newer
// writer knows counts as unknown). The phases' bins are added to *bins.
func phasesFromProto(e *Endpoint, pe *snapshotpb.Endpoint, bins *int) error {
	for _, pp := range pe.Phases {
		p, ok := ParsePhase(pp.Name)
		if !ok {
			continue // a phase a newer writer measures
		}
		if e.Phases.Sketch(p) != nil {
			return fmt.Errorf("endpoint %q: phase %q listed twice", pe.Name, pp.Name)
		}
		if pp.Sketch == nil {
			return fmt.Errorf("endpoint %q: phase %q has no sketch", pe.Name, pp.Name)
		}
		s, err := sketchFromProto(pp.Sketch, bins)
		if err != nil {
			return fmt.Errorf("endpoint %q: phase %q: %w", pe.Name, pp.Name, err)
		}
		if s.Count() > uint64(e.Requests) {
			return fmt.Errorf("endpoint %q: phase %q: %d durations of %d requests", pe.Name, pp.Name, s.Count(), e.Requests)
		}
		e.Phases.SetSketch(p, s)
	}
	var sum int64
	for _, pc := range pe.Protocols {
		p, ok := ParseProto(pc.Name)
		if !ok {
			p = ProtoUnknown
		}
		if pc.Count < 0 || sum > math.MaxInt64-pc.Count || sum+pc.Count > e.Requests {
			return fmt.Errorf("endpoint %q: protocol %q: count %d out of range (%d requests)", pe.Name, pc.Name, pc.Count, e.Requests)
		}
		sum += pc.Count
		e.Protos[p] += pc.Count
	}
	return nil
}

// prescanPhase checks one phase entry's sketch bins, as prescan does for
// an endpoint's latency.
func prescanPhase(v []byte) error {
	return eachField(v, func(num protowire.Number, v []byte) error {
		if num == fieldPhaseSketch {
			return prescanSketch(v)
		}
		return nil
	})
}
