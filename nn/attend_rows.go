package nn

import "github.com/anyres/anyres/kernels"

// AttendRows is AttendHead run fused (kernels.Attention: flash-style,
// online softmax, never the nq×nk scores) from the key count at which the
// level's fused attention is faster (fusedFrom, the ViT runner's rule);
// scores is then unused. bias, when not nil, is nq×nk as AttendHead's. The
// path depends on nk and the kernel level alone, never on the thread count
// or the other images of a batch, so results stay bit-identical across
// both.
func AttendRows(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, v []float32, ldv int,
	nq, nk, hd int, scale float32, bias, scores []float32) {
	if nk >= fusedFrom() {
		var ldb int
		if bias != nil {
			bias, ldb = bias[:nq*nk], nk
		}
		kernels.Attention(out, ldo, q, k, v, ldq, ldk, ldv, nq, nk, hd, scale, bias, ldb)
		return
	}
	AttendHead(out, ldo, q, ldq, k, ldk, v, ldv, nq, nk, hd, scale, bias, scores)
}
