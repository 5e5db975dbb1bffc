// Horizontal reductions of one vector (any op whose operands are whole
// vectors of lanes: VADDPS, VMAXPS, VPADDD, ...).

// HREDUCE_AVX2(op, y, x, tx) folds the 8 lanes of y with op into lane 0 of
// x (y's low half); tx is scratch.
#define HREDUCE_AVX2(op, y, x, tx) \
	VEXTRACTF128 $1, y, tx; \
	op tx, x, x; \
	VMOVHLPS x, x, tx; \
	op tx, x, x; \
	VMOVSHDUP x, tx; \
	op tx, x, x

// HREDUCE_AVX512(op, z, y, x, ty, tx) folds the 16 lanes of z with op into
// lane 0 of x; ty, tx are scratch.
#define HREDUCE_AVX512(op, z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	op ty, y, y; \
	HREDUCE_AVX2(op, y, x, tx)
