package wire

// Labels that open the handshake transcript, so that the dialer's proof can
// never be replayed as the acceptor's and the other way round.
const (
	LabelDialer   = "ekka-mesh dialer"
	LabelAcceptor = "ekka-mesh acceptor"
)

// AppendTranscript appends the handshake transcript that Auth and Welcome
// prove: each side computes HMAC-SHA256(cookie, transcript), the dialer with
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
