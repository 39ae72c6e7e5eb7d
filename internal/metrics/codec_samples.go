package metrics

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// fieldMonitors is the field number of Snapshot.monitors (snapshot.proto).
const fieldMonitors protowire.Number = 16

// DecodeSnapshotLoad is DecodeSnapshot without the monitor samples: it
// checks the snapshot's limits (samples included) and everything else as
// DecodeSnapshot does, but skips the samples before they are unmarshalled, so that reading a long run's intervals
// costs what their load costs (a node_exporter's sample is some 500
// values, more than the rest of an interval). DecodeMonitorSamples reads
// them.
func DecodeSnapshotLoad(b []byte) (Snapshot, error) {
	if len(b) <= MaxEncodedSnapshot {
		if err := prescan(b); err != nil {
			return Snapshot{}, fmt.Errorf("decoding snapshot: %w", err)
		}
		b = withoutField(b, fieldMonitors)
	}
	return DecodeSnapshot(b)
}

// withoutField returns b without the entries of field num (b itself when
// it has none, or when it is malformed: decoding then says why).
func withoutField(b []byte, num protowire.Number) []byte {
	var out []byte
	rest, kept := b, 0
	for len(rest) > 0 {
		n, typ, tagLen := protowire.ConsumeTag(rest)
		if tagLen < 0 {
			return b
		}
		valLen := protowire.ConsumeFieldValue(n, typ, rest[tagLen:])
		if valLen < 0 {
			return b
		}
		off, size := len(b)-len(rest), tagLen+valLen
		if n == num {
			if out == nil {
				out = make([]byte, 0, len(b))
			}
			out = append(out, b[kept:off]...)
			kept = off + size
		}
		rest = rest[size:]
	}
	if out == nil {
		return b
	}
	return append(out, b[kept:]...)
}

// DecodeMonitorSamples reads only the monitor samples of an encoded
// snapshot, checked and bounded as DecodeSnapshot checks them; the rest is
// skipped (DecodeSnapshotLoad reads it). It refuses what DecodeSnapshot
// refuses of the samples, and a message that is not a snapshot of a
// version it knows.
func DecodeMonitorSamples(b []byte) ([]MonitorSample, error) {
	ms, err := decodeMonitorSamples(b)
	if err != nil {
		return nil, fmt.Errorf("decoding snapshot's monitor samples: %w", err)
	}
	return ms, nil
}

func decodeMonitorSamples(b []byte) ([]MonitorSample, error) {
	if len(b) > MaxEncodedSnapshot {
		return nil, fmt.Errorf("%d bytes is more than the %d a snapshot may have", len(b), MaxEncodedSnapshot)
	}
	if err := prescan(b); err != nil {
		return nil, err
	}
	v, err := EncodedVersion(b)
	switch {
	case err != nil:
		return nil, err
	case v == 0:
		return nil, errors.New("no format version: not an encoded snapshot")
	case v != SnapshotVersion:
		return nil, fmt.Errorf("%w %d: this surge reads version %d; upgrade it", ErrSnapshotVersion, v, SnapshotVersion)
	}
	var ps []*snapshotpb.MonitorSample
	err = eachField(b, func(num protowire.Number, v []byte) error {
		if num != fieldMonitors || v == nil {
			return nil
		}
		var p snapshotpb.MonitorSample
		if err := proto.Unmarshal(v, &p); err != nil {
			return err
		}
		ps = append(ps, &p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return monitorsFromProto(ps)
}
