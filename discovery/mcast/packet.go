package mcast

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// The packet layout; see PROTOCOL in the package documentation.
const (
	magic         = "EKMC"
	version1      = 1
	headerLen     = 48 // magic, version, type, reserved, timestamp, nonce, reply-to
	macLen        = sha256.Size
	nonceLen      = 16
	maxClusterLen = 64
	maxNodeLen    = 255
	// minPacketLen is a packet with a 1-byte cluster name and a 3-byte
	// node name (a@b).
	minPacketLen = headerLen + 1 + 1 + 1 + 3 + macLen
	// maxPacketLen is the longest packet a sender can produce.
	maxPacketLen = headerLen + 1 + maxClusterLen + 1 + maxNodeLen + macLen
)

// packetType says what a packet is for.
type packetType uint8

const (
	typeAnnounce packetType = 1 // "who is there?", sent to the group
	typeAnswer   packetType = 2 // "I am here", sent back to the announcer
)

func (t packetType) String() string {
	switch t {
	case typeAnnounce:
		return "announce"
	case typeAnswer:
		return "answer"
	}
	return fmt.Sprintf("type %d", uint8(t))
}

type nonce [nonceLen]byte

// packet is one decoded announce or answer.
type packet struct {
	Type    packetType
	Time    int64 // sender's clock, Unix nanoseconds
	Nonce   nonce
	ReplyTo nonce // the announce an answer answers; zero in an announce
	Cluster string
	Node    string
}

// errMalformed marks a datagram that is not a well-formed packet of this
// protocol version (garbage, truncated, an unknown version or type).
var errMalformed = errors.New("malformed packet")

// encode appends p, signed with cookie, to dst. It fails only on names that
// are too long or empty, which New rules out for the names it sends.
func encode(dst []byte, p packet, cookie string) ([]byte, error) {
	if n := len(p.Cluster); n < 1 || n > maxClusterLen {
		return nil, fmt.Errorf("mcast: cluster name %q is %d bytes long; want 1 to %d", p.Cluster, n, maxClusterLen)
	}
	if n := len(p.Node); n < 3 || n > maxNodeLen {
		return nil, fmt.Errorf("mcast: node name %q is %d bytes long; want 3 to %d", p.Node, n, maxNodeLen)
	}
	start := len(dst)
	dst = append(dst, magic...)
	dst = append(dst, version1, byte(p.Type), 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(p.Time))
	dst = append(dst, p.Nonce[:]...)
	dst = append(dst, p.ReplyTo[:]...)
	dst = append(dst, byte(len(p.Cluster)))
	dst = append(dst, p.Cluster...)
	dst = append(dst, byte(len(p.Node)))
	dst = append(dst, p.Node...)
	mac := hmac.New(sha256.New, []byte(cookie))
	mac.Write(dst[start:])
	return mac.Sum(dst), nil
}

// parse decodes b without checking its MAC. It returns the packet and the
// MAC it carries; any structural problem is an error wrapping errMalformed
// that says which field was wrong and what was expected.
func parse(b []byte) (packet, []byte, error) {
	var p packet
	if len(b) < minPacketLen {
		return p, nil, fmt.Errorf("%w: %d bytes; want at least %d", errMalformed, len(b), minPacketLen)
	}
	if len(b) > maxPacketLen {
		return p, nil, fmt.Errorf("%w: %d bytes; want at most %d", errMalformed, len(b), maxPacketLen)
	}
	if string(b[:4]) != magic {
		return p, nil, fmt.Errorf("%w: magic %q; want %q", errMalformed, b[:4], magic)
	}
	if b[4] != version1 {
		return p, nil, fmt.Errorf("%w: version %d; want %d", errMalformed, b[4], version1)
	}
	p.Type = packetType(b[5])
	if p.Type != typeAnnounce && p.Type != typeAnswer {
		return p, nil, fmt.Errorf("%w: type %d; want %d (announce) or %d (answer)", errMalformed, b[5], typeAnnounce, typeAnswer)
	}
	if b[6] != 0 || b[7] != 0 {
		return p, nil, fmt.Errorf("%w: reserved bytes %#02x %#02x; want zero", errMalformed, b[6], b[7])
	}
	p.Time = int64(binary.BigEndian.Uint64(b[8:16]))
	copy(p.Nonce[:], b[16:32])
	copy(p.ReplyTo[:], b[32:48])
	switch {
	case p.Type == typeAnnounce && p.ReplyTo != (nonce{}):
		return p, nil, fmt.Errorf("%w: announce with a reply-to nonce; want zero", errMalformed)
	case p.Type == typeAnswer && p.ReplyTo == (nonce{}):
		return p, nil, fmt.Errorf("%w: answer with a zero reply-to nonce; want the announce's nonce", errMalformed)
	}

	rest := b[headerLen : len(b)-macLen]
	cluster, rest, err := field(rest, "cluster name", 1, maxClusterLen)
	if err != nil {
		return p, nil, err
	}
	if err := checkCluster(cluster); err != nil {
		return p, nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	node, rest, err := field(rest, "node name", 3, maxNodeLen)
	if err != nil {
		return p, nil, err
	}
	if len(rest) != 0 {
		return p, nil, fmt.Errorf("%w: %d bytes between the node name and the MAC; want none", errMalformed, len(rest))
	}
	if err := checkNode(node); err != nil {
		return p, nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	p.Cluster, p.Node = cluster, node
	return p, b[len(b)-macLen:], nil
}

// field reads a length-prefixed string of min to max bytes from b.
func field(b []byte, what string, min, max int) (string, []byte, error) {
	if len(b) < 1 {
		return "", nil, fmt.Errorf("%w: no room for the %s length", errMalformed, what)
	}
	n := int(b[0])
	if n < min || n > max {
		return "", nil, fmt.Errorf("%w: %s length %d; want %d to %d", errMalformed, what, n, min, max)
	}
	if len(b)-1 < n {
		return "", nil, fmt.Errorf("%w: %s of %d bytes, but only %d bytes left before the MAC", errMalformed, what, n, len(b)-1)
	}
	return string(b[1 : 1+n]), b[1+n:], nil
}

// verifyMAC reports whether mac is the HMAC-SHA256 of signed keyed by
// cookie, in constant time.
func verifyMAC(signed, mac []byte, cookie string) bool {
	h := hmac.New(sha256.New, []byte(cookie))
	h.Write(signed)
	return hmac.Equal(h.Sum(nil), mac)
}

// verifyMACAny returns the first of cookies whose HMAC-SHA256 of signed is
// mac. It checks every cookie, whichever matches, so the time it takes
// tells nothing of which one did.
func verifyMACAny(signed, mac []byte, cookies []string) (string, bool) {
	match := -1
	for i, c := range cookies {
		if verifyMAC(signed, mac, c) && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return cookies[match], true
}

// checkCluster applies the cluster name rule of cluster.name: 1 to 64 of
// A-Z a-z 0-9 _ . -.
func checkCluster(s string) error {
	if len(s) < 1 || len(s) > maxClusterLen {
		return fmt.Errorf("cluster name %q is %d bytes long; want 1 to %d", s, len(s), maxClusterLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("cluster name %q has byte %#02x at position %d; want only A-Z a-z 0-9 _ . -", s, c, i+1)
		}
	}
	return nil
}

// checkNode requires a valid node name in its canonical form (the form
// portmap.Parse prints back), at most 255 bytes.
func checkNode(s string) error {
	if len(s) > maxNodeLen {
		return fmt.Errorf("node name is %d bytes long; want at most %d", len(s), maxNodeLen)
	}
	n, err := portmap.Parse(s)
	if err != nil {
		return err
	}
	if n.String() != s {
		return fmt.Errorf("node name %q is not in canonical form; want %q", s, n.String())
	}
	return nil
}

// age returns how far t (Unix nanoseconds) lies before now; negative when
// t is in the future.
func age(now time.Time, t int64) time.Duration {
	return now.Sub(time.Unix(0, t))
}
