package nn

import (
	"errors"
	"testing"
)

// countingWS is a workspace that records what the runner handed it.
type countingWS struct{ runs, images int }

func (ws *countingWS) pass(imgs []Image, outs []Output) error {
	ws.runs++
	ws.images += len(imgs)
	for i := range outs {
		outs[i].Prefix = imgs[i].H // what Forward must copy back
	}
	return nil
}

// TestRunner: Forward hands the RunFunc a batch of one and copies its
// output back; ForwardBatch checks its arguments before any pass; a
// single caller keeps reusing one workspace; after Close (on a runner
// sharing the lifetime too) every pass is refused.
func TestRunner(t *testing.T) {
	made := 0
	life := NewLifetime(nil)
	r := NewRunner(life, 2, func() *countingWS { made++; return new(countingWS) })
	if r.Threads() != 2 || r.Workers().N() != 2 || r.Lifetime() != life {
		t.Fatalf("threads %d, workers %d", r.Threads(), r.Workers().N())
	}
	run := (*countingWS).pass
	var out Output
	for i := 1; i <= 3; i++ {
		if err := r.Forward(Image{H: 7 * i}, &out, run); err != nil || out.Prefix != 7*i {
			t.Fatalf("Forward %d: %v, output %d", i, err, out.Prefix)
		}
	}
	outs := make([]Output, 2)
	if err := r.ForwardBatch([]Image{{H: 1}, {H: 2}}, outs, run); err != nil || outs[1].Prefix != 2 {
		t.Fatalf("ForwardBatch: %v, %+v", err, outs)
	}
	if err := r.ForwardBatch([]Image{{H: 1}}, outs, run); err == nil {
		t.Error("1 image, 2 outputs: no error")
	}
	if err := r.ForwardBatch(nil, nil, run); err == nil {
		t.Error("no images: no error")
	}
	if made != 1 {
		t.Errorf("a single caller made %d workspaces, want 1", made)
	}
	s := r.get()
	if s.ws.runs != 4 || s.ws.images != 5 || s.img[0].H != 0 {
		t.Errorf("workspace saw %d runs of %d images, keeps image %+v", s.ws.runs, s.ws.images, s.img[0])
	}
	r.put(s)
	other := NewRunner(life, 1, func() *countingWS { return new(countingWS) })
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Forward(Image{}, &out, run); !errors.Is(err, ErrClosed) {
		t.Errorf("Forward after Close: %v", err)
	}
	if err := r.ForwardBatch([]Image{{}}, outs[:1], run); !errors.Is(err, ErrClosed) {
		t.Errorf("ForwardBatch after Close: %v", err)
	}
}
