package anyres

// The Swin family (v1 and V2) registers itself with the front door.
import _ "github.com/anyres/anyres/swin"
