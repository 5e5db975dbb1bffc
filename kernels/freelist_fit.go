package kernels

// The fit methods of the free lists' scratch types (see freeList): each
// lists every slice field the type's kernels grow, in a fixed order, and
// fits them all (no short circuit).

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
