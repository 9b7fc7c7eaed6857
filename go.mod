module github.com/ekka-mesh/ekka-mesh

go 1.26.0

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/libp2p/go-reuseport v0.4.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/xtaci/smux v1.5.58 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
