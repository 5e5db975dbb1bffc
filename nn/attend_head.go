package nn

import "github.com/anyres/anyres/kernels"

// AttendHead is the attention core of every family, for one head:
// out = softmax(scale·q·kᵀ + bias)·v for nq query rows against nk key rows
// of width hd. q, k, v and out are row-major with the given row strides
// (so heads can stay interleaved in a fused qkv matrix); bias, when not
// nil, is nq×nk and is added after the scale, as timm adds relative and
// continuous biases and masks (a zero bias gives the very bits of none).
// scores is scratch of at least nq×nk values.
func AttendHead(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, v []float32, ldv int,
	nq, nk, hd int, scale float32, bias, scores []float32) {
	scores = scores[:nq*nk]
	kernels.Sgemm(1, false, true, nq, nk, hd, 1, q, ldq, k, ldk, 0, scores, nk)
	if bias == nil {
		kernels.SoftmaxRows(scores, scores, nk, scale, nil)
	} else {
		kernels.SoftmaxRows(scores, scores, nk, scale, bias[:nq*nk])
	}
	kernels.Sgemm(1, false, false, nq, hd, nk, 1, scores, nk, v, ldv, 0, out, ldo)
}
