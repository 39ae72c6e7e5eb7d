package sink_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/sink"
)

// gate is a sink that blocks until released, and remembers what it got.
type gate struct {
	release chan struct{}
	mu      sync.Mutex
	got     []int
	closed  bool
}

func (g *gate) Consume(_ context.Context, s metrics.Snapshot) error {
	<-g.release
	g.mu.Lock()
	g.got = append(g.got, s.Seq)
	g.mu.Unlock()
	return nil
}

func (g *gate) Close(context.Context) error { g.closed = true; return nil }

// A slow sink stalls neither the caller nor a fast sink beside it, gets
// every snapshot in order, and is drained by Close.
func TestDetachedSinkNeverStallsTheMerge(t *testing.T) {
	slow := &gate{release: make(chan struct{})}
	var fast []int
	s := sink.Detach(sink.Fanout{slow, sink.Func(func(_ context.Context, s metrics.Snapshot) error {
		mu.Lock()
		fast = append(fast, s.Seq)
		mu.Unlock()
		return nil
	})})
	ctx := context.Background()
	t0 := time.Now()
	for i := range 10 {
		if err := s.Consume(ctx, metrics.Snapshot{Seq: i}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("consuming 10 snapshots took %v behind a blocked sink", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(fastCopy(&fast)) < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(slow.release)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(fastCopy(&fast)) != 10 {
		t.Fatalf("the fast sink got %d of 10 while the slow one was blocked", len(fast))
	}
	for i, seq := range slow.got {
		if seq != i {
			t.Fatalf("slow sink got %v, want 0..9 in order", slow.got)
		}
	}
	if len(slow.got) != 10 || !slow.closed {
		t.Fatalf("slow sink got %d snapshots, closed %v", len(slow.got), slow.closed)
	}
}

var mu sync.Mutex

func fastCopy(p *[]int) []int { mu.Lock(); defer mu.Unlock(); return append([]int(nil), *p...) }

// Past its buffer a sink drops snapshots and Close says how many.
func TestDetachedSinkCountsWhatItDropped(t *testing.T) {
	slow := &gate{release: make(chan struct{})}
	s := sink.Detach(slow)
	ctx := context.Background()
	n := sink.DetachBuffer + 50
	for i := range n {
		_ = s.Consume(ctx, metrics.Snapshot{Seq: i})
	}
	close(slow.release)
	err := s.Close(ctx)
	if err == nil {
		t.Fatal("Close must report the dropped snapshots")
	}
	if got := len(slow.got); got >= n || got < sink.DetachBuffer {
		t.Fatalf("slow sink got %d of %d", got, n)
	}
}
