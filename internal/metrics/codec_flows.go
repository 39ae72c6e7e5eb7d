package metrics

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// MaxSnapshotFlows is the most entries of each of a snapshot's flows and
// polls lists on the wire, as for endpoints: a plan has far fewer flows
// and poll steps than that.
const MaxSnapshotFlows = 4096

// The field numbers of Snapshot.flows and Snapshot.polls, and of
// Flow.duration (snapshot.proto), for prescan.
const (
	fieldFlows        protowire.Number = 18
	fieldPolls        protowire.Number = 19
	fieldFlowDuration protowire.Number = 6
)

// flowsToProto encodes flows in their order (at most MaxSnapshotFlows, all
// a plan can have), so equal lists encode alike. A nil or empty list is
// absent on the wire: a snapshot without flows encodes as it did before
// flows existed.
func flowsToProto(fs []Flow) []*snapshotpb.Flow {
	if len(fs) == 0 {
		return nil
	}
	fs = fs[:min(len(fs), MaxSnapshotFlows)]
	out := make([]*snapshotpb.Flow, len(fs))
	for i := range fs {
		f := &fs[i]
		pf := &snapshotpb.Flow{Name: f.Name, Iterations: f.Iterations, Errors: f.Errors, Requests: f.Requests, Cut: f.Cut}
		if f.Duration != nil {
			pf.Duration = sketchToProto(f.Duration)
		}
		out[i] = pf
	}
	return out
}

// flowsFromProto decodes and checks one list (what names it in errors:
// "flow" or "poll"): non-empty names, each at most once, counts ≥ 0,
// errors and durations no more than the iterations. The durations' bins
// are added to *bins.
func flowsFromProto(what string, ps []*snapshotpb.Flow, bins *int) ([]Flow, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]Flow, len(ps))
	seen := make(map[string]bool, len(ps))
	for i, pf := range ps {
		switch {
		case pf.Name == "":
			return nil, fmt.Errorf("%s %d: no name", what, i)
		case seen[pf.Name]:
			return nil, fmt.Errorf("%s %q: listed twice", what, pf.Name)
		}
		seen[pf.Name] = true
		if pf.Iterations < 0 || pf.Errors < 0 || pf.Requests < 0 || pf.Cut < 0 {
			return nil, fmt.Errorf("%s %q: negative count", what, pf.Name)
		}
		if pf.Errors > pf.Iterations {
			return nil, fmt.Errorf("%s %q: %d errors of %d iterations", what, pf.Name, pf.Errors, pf.Iterations)
		}
		f := &out[i]
		*f = Flow{Name: pf.Name, Iterations: pf.Iterations, Errors: pf.Errors, Requests: pf.Requests, Cut: pf.Cut}
		if pf.Duration == nil {
			f.Duration = NewSketch()
			continue
		}
		d, err := sketchFromProto(pf.Duration, bins)
		if err != nil {
			return nil, fmt.Errorf("%s %q: duration: %w", what, pf.Name, err)
		}
		if d.Count() > uint64(pf.Iterations) {
			return nil, fmt.Errorf("%s %q: %d durations of %d iterations", what, pf.Name, d.Count(), pf.Iterations)
		}
		f.Duration = d
	}
	return out, nil
}

// flowsFromSnapshot decodes both lists of p into s.
func flowsFromSnapshot(s *Snapshot, p *snapshotpb.Snapshot, bins *int) error {
	var err error
	if s.Flows, err = flowsFromProto("flow", p.Flows, bins); err != nil {
		return err
	}
	s.Polls, err = flowsFromProto("poll", p.Polls, bins)
	return err
}

// prescanFlow counts one entry of the flows (or polls) list in *n and
// checks its duration sketch's bins, as prescan does for endpoints.
func prescanFlow(num protowire.Number, v []byte, n *int) error {
	if *n++; *n > MaxSnapshotFlows {
		what := "flows"
		if num == fieldPolls {
			what = "polls"
		}
		return fmt.Errorf("more than %d %s", MaxSnapshotFlows, what)
	}
	return eachField(v, func(num protowire.Number, v []byte) error {
		if num == fieldFlowDuration {
			return prescanSketch(v)
		}
		return nil
	})
}
