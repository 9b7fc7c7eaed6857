package conn

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// BenchmarkCookieGuess measures what one offline guess at the cookie costs
// someone who recorded a plaintext handshake: before protocol version 2 one
// HMAC over the transcript, now an argon2id derivation first. guesses/s is
// per core (argon2 runs with one lane).
func BenchmarkCookieGuess(b *testing.B) {
	var nD, nA [wire.NonceSize]byte
	var gD, gA [wire.GUIDSize]byte
	t := wire.AppendTranscript(nil, wire.LabelDialer, wire.Version, &nD, &nA, &gD, &gA,
		[]byte("a1@127.0.0.1"), []byte("b2@127.0.0.1"), []byte("prod"), wire.LaneData, 1, 5, 5)
	b.Run("v1-hmac", func(b *testing.B) {
		for b.Loop() {
			m := hmac.New(sha256.New, []byte("guess-0123456789"))
			m.Write(t)
			m.Sum(nil)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "guesses/s")
	})
	b.Run("v2-argon2id", func(b *testing.B) {
		for b.Loop() {
			k := wire.CookieKey([]byte("guess-0123456789"), []byte("prod"))
			wire.TranscriptProof(&k, t)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "guesses/s")
	})
}
