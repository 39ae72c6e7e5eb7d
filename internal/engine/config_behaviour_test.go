package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// Every load loop is bounded: a run with neither a profile duration, an
// iteration budget nor a MaxDuration is refused, in both models; any one
// of the three bounds it.
func TestNewRefusesAnUnboundedRun(t *testing.T) {
	w := &fakeWork{}
	for _, model := range []engine.Model{engine.Open, engine.Closed} {
		unbounded := engine.Config{Model: model, Profile: engine.Profile{Start: 5}}
		if _, err := engine.New(unbounded, w, nil); !errors.Is(err, engine.ErrBadConfig) || !strings.Contains(err.Error(), "unbounded") {
			t.Errorf("%v, no bound: error %v, want ErrBadConfig naming the unbounded run", model, err)
		}
		for name, cfg := range map[string]engine.Config{
			"duration":     {Model: model, Profile: engine.Constant(5, time.Second)},
			"budget":       {Model: model, Profile: engine.Profile{Start: 5}, Iterations: 10},
			"max duration": {Model: model, Profile: engine.Profile{Start: 5}, MaxDuration: time.Second},
		} {
			e, err := engine.New(cfg, w, nil)
			if err != nil {
				t.Errorf("%v bounded by its %s: refused: %v", model, name, err)
				continue
			}
			want := time.Hour
			if name == "max duration" {
				want = time.Second
			}
			if got := e.Config().MaxDuration; got != want {
				t.Errorf("%v bounded by its %s: MaxDuration %v, want %v", model, name, got, want)
			}
		}
	}
}

// The error for a bad stage names the stage by its position, from 1.
func TestParseStagesNamesTheBadStage(t *testing.T) {
	for in, want := range map[string]string{
		"1s:1,30s":       "stage 2 ",
		"1s:1,2s:2,0s:5": "stage 3 ",
		"x:1":            "stage 1 ",
		"1s:1,1s:-4":     "stage 2 ",
	} {
		_, err := engine.ParseStages(in)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseStages(%q): error %v, want it to start with %q", in, err, want)
		}
	}
}

// The JSON readers are exported: called directly with empty or blank
// input (json.Unmarshal never passes that) they return an error, not a
// panic.
func TestJSONReadersRefuseEmptyInput(t *testing.T) {
	for _, in := range []string{"", "  ", "\n"} {
		var m engine.Model
		if err := m.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("Model.UnmarshalJSON(%q) accepted", in)
		}
		var d engine.Duration
		if err := d.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("Duration.UnmarshalJSON(%q) accepted", in)
		}
	}
}

// failThenDone's first VU fails its first iteration with err; every later
// VU has no work (ErrVUDone) from the start.
type failThenDone struct{ err error }

func (w failThenDone) NewVU(_ context.Context, id int) engine.VU {
	return failThenDoneVU{w.err, id}
}

type failThenDoneVU struct {
	err error
	id  int
}

func (v failThenDoneVU) Iterate(context.Context, engine.Iteration) error {
	if v.id == 0 {
		return v.err
	}
	return fmt.Errorf("no row left: %w", engine.ErrVUDone)
}

// In the open model a VU whose iteration fails ends, Run returns its
// error, and the VU no longer counts as live: when the VU started in its
// place runs out of work, no VU is left and the segment ends at once,
// not at the end of its 20 s profile.
func TestOpenModelVUErrorEndsTheVU(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	start := time.Now()
	rec := newRec(start)
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(100, 20*time.Second)}, failThenDone{boom}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = e.Run(ctx, start)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the run went on for %v after its last VU ran out of work", took)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want the VU's error", err)
	}
	if s := rec.Snapshot(time.Now()); s.Iterations != 1 {
		t.Fatalf("%d iterations, want the 1 that failed", s.Iterations)
	}
}
