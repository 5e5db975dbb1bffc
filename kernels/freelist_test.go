package kernels

import (
	"reflect"
	"testing"
)

// TestFreeListHighWater: which object served the largest call does not
// matter. Two workers take an object each for small calls; then one worker
// alone makes the large call (always on the object on top). When both meet
// again, the other object must already hold the large call: a free list
// whose objects grew only with the calls they served made the second
// worker allocate here, in a warm pass, as scheduling had it.
func TestFreeListHighWater(t *testing.T) {
	var f freeList[bLocal]
	take := func() *bLocal {
		if l := f.get(); l != nil {
			return l
		}
		return &bLocal{}
	}
	const small, large = 16, 4096
	x, y := take(), take()
	x.tile, y.tile = grow(x.tile, small), grow(y.tile, small)
	f.put(x)
	f.put(y)
	for range 3 { // the lone worker: always the object on top
		l := take()
		l.tile = grow(l.tile, large)
		f.put(l)
	}
	a, b := take(), take()
	for _, l := range []*bLocal{a, b} {
		if cap(l.tile) < large {
			t.Errorf("an object kept for %d values after the list served %d", cap(l.tile), large)
		}
	}
	f.put(a)
	f.put(b)
}

// TestFreeListReserve: after ReserveScratch(n) and one call, n workers
// inside the kernel at once each find an object at the high water, though
// so many never met before.
func TestFreeListReserve(t *testing.T) {
	const n, size = 5, 1000
	old := reservedScratch.Load()
	// The reserve is global: give it back so that the package's other
	// lists do not keep five objects each.
	t.Cleanup(func() { reservedScratch.Store(old) })
	ReserveScratch(n)
	var f freeList[bLocal]
	l := f.get()
	if l == nil {
		l = &bLocal{}
	}
	l.tile = grow(l.tile, size)
	f.put(l)
	held := make([]*bLocal, n)
	for i := range held {
		held[i] = f.get()
		if held[i] == nil {
			t.Fatalf("worker %d of %d found no object after ReserveScratch(%d)", i+1, n, n)
		}
		if c := cap(held[i].tile); c < size {
			t.Errorf("worker %d: object holds %d values, the list served %d", i+1, c, size)
		}
	}
	for _, l := range held {
		f.put(l)
	}
}

// TestScratchFitCoversFields: fitScratch knows each free list's scratch
// type, and each fits every
// slice field it has (a field left out would keep its own size, and its
// object allocate when it first meets a shape another one served), each to
// its own high-water entry. The fields are found by reflection, so a new
// field fails here until fit lists it.
func TestScratchFitCoversFields(t *testing.T) {
	// lazyB.b is the caller's B, not scratch.
	notScratch := map[string]bool{"lazyB.b": true}
	for _, x := range []any{&gemmScratch{}, &lazyB{}, &attentionScratch{}, &AttentionKV{},
		&bScratch{}, &bLocal{}, &qScratch{}, &qLocal{}} {
		v := reflect.ValueOf(x).Elem()
		name := v.Type().Name()
		var fields []string
		var walk func(v reflect.Value, path string)
		walk = func(v reflect.Value, path string) {
			for i := range v.NumField() {
				fv, p := v.Field(i), path+"."+v.Type().Field(i).Name
				switch fv.Kind() {
				case reflect.Slice:
					if !notScratch[p] {
						fields = append(fields, p)
					}
				case reflect.Struct:
					walk(fv, p)
				}
			}
		}
		walk(v, name)
		// Give field i a capacity of i+1 (by reflection, as fit does not
		// know them), fit into an empty high water: it must rise, with
		// one distinct entry per field.
		var set func(v reflect.Value, path string)
		k := 0
		set = func(v reflect.Value, path string) {
			for i := range v.NumField() {
				fv, p := v.Field(i), path+"."+v.Type().Field(i).Name
				switch {
				case fv.Kind() == reflect.Slice && !notScratch[p]:
					k++
					reflect.NewAt(fv.Type(), fv.Addr().UnsafePointer()).Elem().Set(reflect.MakeSlice(fv.Type(), 0, k))
				case fv.Kind() == reflect.Struct:
					set(fv, p)
				}
			}
		}
		set(v, name)
		var hw fieldSizes
		if !fitScratch(x, &hw) {
			t.Errorf("%s: fit into an empty high water did not raise it", name)
		}
		seen := map[int]bool{}
		for _, c := range hw {
			if c != 0 {
				seen[c] = true
			}
		}
		for i := 1; i <= len(fields); i++ {
			if !seen[i] {
				t.Errorf("%s: fit leaves out field %s (or shares its entry)", name, fields[i-1])
			}
		}
	}
}
