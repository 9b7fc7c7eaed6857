package mesh

import (
	"github.com/ekka-mesh/ekka-mesh/conn"
)

// Compression says when a node compresses what it sends to its peers (S2,
// used on a link only when both ends offer it). Its values are conn's.
type Compression uint8

const (
	// CompressionAuto compresses a message only where it pays: when the
	// link drains slower than the compressor runs (a slow or congested
	// network, not loopback or a fast LAN) and messages of that method
	// shrink. It never makes a fast link slower. The default.
	CompressionAuto = Compression(conn.CompressAuto)
	// CompressionOff never compresses and does not offer compression.
	CompressionOff = Compression(conn.CompressOff)
	// CompressionOn compresses every payload of CompressThreshold bytes or
	// more that shrinks, whatever the link: on loopback or a LAN this costs
	// throughput, on a slow WAN it saves bandwidth.
	CompressionOn = Compression(conn.CompressOn)
)

// String returns auto, off or on.
func (c Compression) String() string { return c.conn().String() }

// ParseCompression parses off, on or auto.
func ParseCompression(s string) (Compression, error) {
	c, err := conn.ParseCompression(s)
	return Compression(c), err
}

func (c Compression) conn() conn.Compression { return conn.Compression(c) }
