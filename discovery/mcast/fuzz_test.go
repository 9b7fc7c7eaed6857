package mcast

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"
)

// FuzzAcceptSigned fuzzes the signed part of a datagram and signs it with
// the cluster's cookie, so that the fuzzer reaches every check behind the
// MAC (type, self, clock skew, reply-to, replays), which FuzzParse cannot
// pass. Each datagram is received twice. The outcome must be exactly what
// the PROTOCOL rules say, worked out here from the parsed fields: accepted
// once when every rule holds, never the second time (a replay), and
// dropped otherwise; an accepted packet is the packet that was signed.
func FuzzAcceptSigned(f *testing.F) {
	for _, g := range []string{goldenAnnounce, goldenAnswer} {
		b := mustHex(f, g)
		signed := b[:len(b)-macLen]
		f.Add(signed, uint8(typeAnnounce), int64(0))
		f.Add(signed, uint8(typeAnswer), int64(29*time.Second))
		f.Add(signed, uint8(typeAnswer), int64(-31*time.Second))
	}
	own, err := encode(nil, packet{Type: typeAnnounce, Time: goldenAnnouncePacket.Time, Nonce: seq(9), Cluster: "ekka", Node: "self@127.0.0.1"}, goldenCookie)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(own[:len(own)-macLen], uint8(typeAnnounce), int64(0))
	f.Fuzz(func(t *testing.T, signed []byte, want uint8, skew int64) {
		want = want%2 + 1
		m, err := New(Config{Name: "self@127.0.0.1", Cluster: "ekka", Cookie: goldenCookie})
		if err != nil {
			t.Fatal(err)
		}
		// The clock stands near the golden packets' time, moved by skew.
		now := time.Unix(0, goldenAnnouncePacket.Time).Add(time.Duration(skew))
		m.now = func() time.Time { return now }
		mac := hmac.New(sha256.New, []byte(goldenCookie))
		mac.Write(signed)
		b := mac.Sum(append([]byte(nil), signed...))
		replyTo := goldenAnswerPacket.ReplyTo

		p, _, perr := parse(b)
		ok := perr == nil && len(b) <= maxPacketLen && p.Cluster == "ekka" && p.Type == packetType(want) &&
			p.Node != "self@127.0.0.1" && (want != uint8(typeAnswer) || p.ReplyTo == replyTo)
		if ok {
			d := age(now, p.Time)
			ok = d <= m.cfg.MaxSkew && d >= -m.cfg.MaxSkew
		}
		for round := range 2 {
			got, _, accepted := m.accept(b, goldenSrc, packetType(want), replyTo)
			if accepted != (ok && round == 0) {
				t.Fatalf("round %d: accept = %v for %+v (parse error %v, want type %d); the rules say %v",
					round, accepted, p, perr, want, ok && round == 0)
			}
			if accepted && got != p {
				t.Fatalf("accepted %+v, but the signed packet is %+v", got, p)
			}
		}
		st := m.Stats()
		if st.Received != 2 || st.Accepted+st.Self+st.Dropped() != 2 {
			t.Fatalf("two datagrams counted as %+v", st)
		}
	})
}
