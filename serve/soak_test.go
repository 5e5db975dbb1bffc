package serve

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anyres/anyres/bench"
)

// TestSoak (opt-in: ANYRES_SOAK=10m) sends requests from 8 clients for that
// long, good and bad ones mixed, and checks that the live heap after the
// soak is no larger than after the first tenth (plus slack for the
// runtime's own growth): memory stays flat. It logs the live heap and the
// peak resident size every tenth of the way (-v shows them).
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("ANYRES_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set ANYRES_SOAK to a duration (e.g. 10m) to run the soak")
	}
	m := tinyModel(t)
	_, url := start(t, Config{Model: m})
	p := m.Info().Patch
	bodies := [][]byte{
		npy(t, randomImage(1, 3, 2*p[0], 3*p[1])),
		npy(t, randomImage(2, 3, 5*p[0], 2*p[1])),
		photo(t, 60, 90),
		[]byte("not an image"),
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var requests atomic.Int64
	stop := time.Now().Add(d)
	var base uint64
	var once sync.Once
	warm := time.Now().Add(d / 10)
	var wg sync.WaitGroup
	done := make(chan struct{})
	samples := make(chan struct{})
	go func() {
		defer close(samples)
		tick := time.NewTicker(d / 10)
		defer tick.Stop()
		begin := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				t.Logf("%4.0fs: %d requests, heap in use %d KiB, peak RSS %d KiB", time.Since(begin).Seconds(), requests.Load(), ms.HeapInuse>>10, bench.PeakRSS()>>10)
			}
		}
	}()
	for c := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				b := bodies[(c+i)%len(bodies)]
				code, _ := call(t, "POST", url+"/image?output=pooled", "", b)
				requests.Add(1)
				if code != 200 && code != 400 {
					t.Errorf("status %d", code)
					return
				}
				if c == 0 && time.Now().After(warm) {
					once.Do(func() { base = heap() })
				}
			}
		})
	}
	wg.Wait()
	close(done)
	<-samples
	end := heap()
	t.Logf("live heap after a tenth of the soak %d KiB, at the end %d KiB", base>>10, end>>10)
	if end > base+base/2+4<<20 {
		t.Errorf("live heap grew from %d to %d bytes", base, end)
	}
}
