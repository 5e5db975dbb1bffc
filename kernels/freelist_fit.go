package kernels

// The fit methods of the free lists' scratch types (see freeList): each
// records the capacities of its slices in hw where larger, grows the
// smaller ones to hw, and reports whether hw rose. Each lists every slice
// field the type's kernels grow, in a fixed order, and fits them all (no
// short circuit).

// fitScratch calls x's fit. It switches on the concrete types: asserting
// an interface here would now and then allocate (the runtime's type
// assertion cache grows at random, even in a warm pass).
func fitScratch(x any, hw *fieldSizes) bool {
	switch s := x.(type) {
	case *gemmScratch:
		return s.fit(hw)
	case *lazyB:
		return s.fit(hw)
	case *attentionScratch:
		return s.fit(hw)
	case *AttentionKV:
		return s.fit(hw)
	case *bScratch:
		return s.fit(hw)
	case *bLocal:
		return s.fit(hw)
	case *qScratch:
		return s.fit(hw)
	case *qLocal:
		return s.fit(hw)
	}
	return false
}

func (s *gemmScratch) fit(hw *fieldSizes) bool {
	rose := fitField(&s.a, &hw[0])
	rose = fitField(&s.tile, &hw[1]) || rose
	rose = fitField(&s.wb, &hw[2]) || rose
	return rose
}

func (z *lazyB) fit(hw *fieldSizes) bool {
	rose := fitField(&z.pb.data, &hw[0])
	rose = fitField(&z.once, &hw[1]) || rose
	return rose
}

func (s *attentionScratch) fit(hw *fieldSizes) bool {
	rose := fitField(&s.qa, &hw[0])
	rose = fitField(&s.s, &hw[1]) || rose
	rose = fitField(&s.pa, &hw[2]) || rose
	rose = fitField(&s.o, &hw[3]) || rose
	rose = fitField(&s.m, &hw[4]) || rose
	rose = fitField(&s.l, &hw[5]) || rose
	return rose
}

func (kv *AttentionKV) fit(hw *fieldSizes) bool {
	rose := fitField(&kv.kp, &hw[0])
	rose = fitField(&kv.vp, &hw[1]) || rose
	rose = fitField(&kv.bf.k, &hw[2]) || rose
	rose = fitField(&kv.bf.v, &hw[3]) || rose
	rose = fitField(&kv.bf.row, &hw[4]) || rose
	rose = fitField(&kv.i8.k, &hw[5]) || rose
	rose = fitField(&kv.i8.off, &hw[6]) || rose
	rose = fitField(&kv.i8.ks, &hw[7]) || rose
	rose = fitField(&kv.i8.v, &hw[8]) || rose
	rose = fitField(&kv.i8.vs, &hw[9]) || rose
	rose = fitField(&kv.i8.zero, &hw[10]) || rose
	rose = fitField(&kv.i8.mean, &hw[11]) || rose
	rose = fitField(&kv.i8.maxAbs, &hw[12]) || rose
	rose = fitField(&kv.i8.vsum, &hw[13]) || rose
	rose = fitField(&kv.i8.krow, &hw[14]) || rose
	rose = fitField(&kv.i8.vrow, &hw[15]) || rose
	rose = fitField(&kv.i8.krowMax, &hw[16]) || rose
	return rose
}

func (s *bScratch) fit(hw *fieldSizes) bool {
	rose := fitField(&s.a, &hw[0])
	rose = fitField(&s.single.tile, &hw[1]) || rose
	rose = fitField(&s.single.row, &hw[2]) || rose
	return rose
}

func (l *bLocal) fit(hw *fieldSizes) bool {
	rose := fitField(&l.tile, &hw[0])
	rose = fitField(&l.row, &hw[1]) || rose
	return rose
}

func (s *qScratch) fit(hw *fieldSizes) bool {
	rose := fitField(&s.a, &hw[0])
	rose = fitField(&s.sa, &hw[1]) || rose
	rose = fitField(&s.za, &hw[2]) || rose
	rose = fitField(&s.single.tile, &hw[3]) || rose
	rose = fitField(&s.single.row, &hw[4]) || rose
	return rose
}

func (l *qLocal) fit(hw *fieldSizes) bool {
	rose := fitField(&l.tile, &hw[0])
	rose = fitField(&l.row, &hw[1]) || rose
	return rose
}
