package kernels

// Add sets dst = a + b elementwise. dst may alias a or b.
func Add(dst, a, b []float32) {
	checkLen("Add", dst, a)
	checkLen("Add", dst, b)
	addImpl(dst, a[:len(dst)], b[:len(dst)])
}

// addImpl is the level's Add (len(a) == len(b) == len(dst)).
var addImpl = addGeneric

func addGeneric(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Scale sets dst = s·src elementwise. dst may alias src.
func Scale(dst, src []float32, s float32) {
	checkLen("Scale", dst, src)
	scaleImpl(dst, src[:len(dst)], s)
}

// scaleImpl is the level's Scale (len(src) == len(dst)).
var scaleImpl = scaleGeneric

func scaleGeneric(dst, src []float32, s float32) {
	for i := range dst {
		dst[i] = s * src[i]
	}
}
