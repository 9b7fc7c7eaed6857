package mesh

import (
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/conn"
)

// Compression says when a node compresses what it sends to its peers (S2,
// used on a link only when both ends offer it).
type Compression uint8

const (
	// CompressionAuto compresses a message only where it pays: when the
	// link drains slower than the compressor runs (a slow or congested
	// network, not loopback or a fast LAN) and messages of that method
	// shrink. It never makes a fast link slower. The default.
	CompressionAuto Compression = iota
	// CompressionOff never compresses and does not offer compression.
	CompressionOff
	// CompressionOn compresses every payload of CompressThreshold bytes or
	// more that shrinks, whatever the link: on loopback or a LAN this costs
	// throughput, on a slow WAN it saves bandwidth.
	CompressionOn
)

// String returns auto, off or on.
func (c Compression) String() string {
	if c > CompressionOn {
		return fmt.Sprintf("Compression(%d)", uint8(c))
	}
	return c.conn().String()
}

// ParseCompression parses off, on or auto.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "auto":
		return CompressionAuto, nil
	case "off":
		return CompressionOff, nil
	case "on":
		return CompressionOn, nil
	}
	return 0, fmt.Errorf("compression %q: want off, on or auto", s)
}

func (c Compression) conn() conn.Compression {
	switch c {
	case CompressionOff:
		return conn.CompressOff
	case CompressionOn:
		return conn.CompressOn
	}
	return conn.CompressAuto
}
