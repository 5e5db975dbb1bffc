module github.com/anyres/anyres

go 1.26.0

require github.com/klauspost/cpuid/v2 v2.4.2

require (
	github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c
	github.com/stretchr/testify v1.11.1
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

tool github.com/tetratelabs/wazero/cmd/wazero
