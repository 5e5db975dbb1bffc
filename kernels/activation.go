package kernels

import "fmt"

// Activation names an elementwise activation: the MLP non-linearities of
// the transformer families, applied on their own (Activate) or in a GEMM
// epilogue.
type Activation int

const (
	ActNone      Activation = iota
	ActGELU                 // x·Φ(x), erf form (timm nn.GELU)
	ActGELUTanh             // tanh approximation of GELU (SigLIP, gelu_pytorch_tanh)
	ActQuickGELU            // x·σ(1.702·x) (OpenAI CLIP)
	ActSiLU                 // x·σ(x) (the gate of SwiGLU)
)

func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActGELU:
		return "gelu"
	case ActGELUTanh:
		return "gelu_tanh"
	case ActQuickGELU:
		return "quick_gelu"
	case ActSiLU:
		return "silu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Activate sets dst = act(src); dst may alias src.
func Activate(act Activation, dst, src []float32) {
	switch act {
	case ActNone:
		checkLen("Activate", dst, src)
		copy(dst, src)
	case ActGELU:
		GELU(dst, src)
	case ActGELUTanh:
		GELUTanh(dst, src)
	case ActQuickGELU:
		sigmoidGate(dst, src, 1.702)
	case ActSiLU:
		sigmoidGate(dst, src, 1)
	default:
		panic(fmt.Sprintf("kernels: unknown activation %d", int(act)))
	}
}

// QuickGELU sets dst = x·σ(1.702·x), as PyTorch computes OpenAI CLIP's
// QuickGELU. dst may alias src.
func QuickGELU(dst, src []float32) { Activate(ActQuickGELU, dst, src) }

// SiLU sets dst = x·σ(x). dst may alias src.
func SiLU(dst, src []float32) { Activate(ActSiLU, dst, src) }

// sigmoidGate sets dst = x·σ(a·x) = x / (1 + e^(−a·x)) through the Exp
// kernel. A dst apart from src holds e^(−a·x) on the way; in place it goes
// a chunk at a time through a buffer from a free list (a stack buffer would
// escape through the Exp dispatch), so neither allocates when warm.
//
// The exponential is gateExpImpl: where it raises −a·x to gateExpFloor,
// e^(−a·x) is under 2^-24 either way, so 1 + e^(−a·x) rounds to 1 and the
// result keeps its bits, while Exp's exact subnormal results (from −87.3
// down: large gate inputs, as in the massive-activation channels of trained
// models) cost an Intel core a microcode assist per vector.
func sigmoidGate(dst, src []float32, a float32) {
	checkLen("sigmoidGate", dst, src)
	if len(src) == 0 {
		return
	}
	gateImpl(dst, src, a)
}

// gateImpl is the level's sigmoidGate (len(dst) == len(src) > 0): the
// assembly levels compute it in one pass with the operations and the exp
// of sigmoidGateSteps, so with its bits.
var gateImpl = sigmoidGateSteps

// sigmoidGateSteps is sigmoidGate as −a·x, gateExpImpl, x / (1 + e).
func sigmoidGateSteps(dst, src []float32, a float32) {
	if &dst[0] != &src[0] {
		for i, x := range src {
			dst[i] = -a * x
		}
		gateExpImpl(dst)
		for i, x := range src {
			dst[i] = x / (1 + dst[i])
		}
		return
	}
	sigmoidGateInPlace(dst, src, a)
}

// gateExpFloor is sigmoidGate's least exponent: e^-80 is a normal float32
// far below 2^-24.
const gateExpFloor = -80

// gateChunks are the in-place sigmoid gate's buffers.
var gateChunks freeList[[256]float32]

func sigmoidGateInPlace(dst, src []float32, a float32) {
	t := gateChunks.get()
	if t == nil {
		t = new([256]float32)
	}
	defer gateChunks.put(t)
	for lo := 0; lo < len(src); lo += len(t) {
		n := min(len(t), len(src)-lo)
		s, e := src[lo:lo+n], t[:n]
		for i, x := range s {
			e[i] = -a * x
		}
		gateExpImpl(e)
		d := dst[lo : lo+n]
		for i, x := range s {
			d[i] = x / (1 + e[i])
		}
	}
}
