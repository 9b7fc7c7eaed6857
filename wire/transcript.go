package wire

import (
	"crypto/hmac"
	"crypto/sha256"

	"golang.org/x/crypto/argon2"
)

// Labels that open the handshake transcript, so that the dialer's proof can
// never be replayed as the acceptor's and the other way round.
const (
	LabelDialer   = "ekka-mesh dialer"
	LabelAcceptor = "ekka-mesh acceptor"
)

// The cookie key: both proofs are keyed not with the cookie itself but with
// a key derived from it by argon2id (RFC 9106), salted with KDFSaltPrefix
// followed by the cluster name, so that someone who records a plaintext
// handshake pays a slow, memory-hard derivation for every cookie guess
// instead of one HMAC (see PROTOCOL.md, "Proofs"). A node derives the key
// once per (cookie, cluster) and keeps it.
const (
	KDFSaltPrefix        = "ekka-mesh/2 cookie key, cluster:"
	KDFTime       uint32 = 3         // argon2id passes
	KDFMemoryKiB  uint32 = 32 * 1024 // argon2id memory, in KiB (32 MiB)
	KDFThreads    uint8  = 1         // argon2id lanes
	KeySize              = 32        // derived key length in bytes
)

// CookieKey derives the proof key from the cookie and the cluster name:
// argon2id(password = cookie, salt = KDFSaltPrefix || cluster, KDFTime,
// KDFMemoryKiB, KDFThreads, KeySize). It is deliberately slow (tens of
// milliseconds and 32 MiB): call it once and keep the result.
func CookieKey(cookie, cluster []byte) [KeySize]byte {
	salt := make([]byte, 0, len(KDFSaltPrefix)+len(cluster))
	salt = append(append(salt, KDFSaltPrefix...), cluster...)
	var k [KeySize]byte
	copy(k[:], argon2.IDKey(cookie, salt, KDFTime, KDFMemoryKiB, KDFThreads, KeySize))
	return k
}

// TranscriptProof is HMAC-SHA256(key, transcript): proofD or proofA, with
// key from CookieKey and transcript from AppendTranscript.
func TranscriptProof(key *[KeySize]byte, transcript []byte) [ProofSize]byte {
	mac := hmac.New(sha256.New, key[:])
	mac.Write(transcript)
	var p [ProofSize]byte
	mac.Sum(p[:0])
	return p
}

// AppendTranscript appends the handshake transcript that Auth and Welcome
// prove: each side computes HMAC-SHA256(CookieKey(cookie, cluster),
// transcript), the dialer with
// LabelDialer, the acceptor with LabelAcceptor (see PROTOCOL.md,
// "Proofs"). The layout is
//
//	str16 label
//	u8    chosen version
//	32B   dialer's nonce
//	32B   acceptor's nonce
//	16B   dialer's GUID
//	16B   acceptor's GUID
//	str16 dialer's node name
//	str16 acceptor's node name
//	str16 cluster name
//	u8    lane
//	u64   link id
//	u32   dialer's capabilities
//	u32   acceptor's capabilities
//
// Every value both sides exchanged is bound into it, so a man in the middle
// who changes any of them (a downgraded version, stripped capabilities, a
// swapped name) makes both proofs fail.
func AppendTranscript(dst []byte, label string, version uint8, nonceD, nonceA *[NonceSize]byte, guidD, guidA *[GUIDSize]byte, dialer, acceptor, cluster []byte, lane uint8, linkID uint64, capsD, capsA uint32) []byte {
	dst = appendU16(dst, uint16(len(label)))
	dst = append(dst, label...)
	dst = append(dst, version)
	dst = append(dst, nonceD[:]...)
	dst = append(dst, nonceA[:]...)
	dst = append(dst, guidD[:]...)
	dst = append(dst, guidA[:]...)
	dst = appendStr16(dst, dialer)
	dst = appendStr16(dst, acceptor)
	dst = appendStr16(dst, cluster)
	dst = append(dst, lane)
	dst = appendU64(dst, linkID)
	dst = appendU32(dst, capsD)
	return appendU32(dst, capsA)
}
