package admin

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"
)

// page is the live status page: one self-contained file, its script and
// style inline, nothing loaded from elsewhere.
//
//go:embed page.html
var page []byte

// pageCSP lets the page run its own inline script and style (by hash) and
// talk to this endpoint only.
var pageCSP = "default-src 'none'; script-src " + inlineHash("script") + "; style-src " + inlineHash("style") +
	"; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// inlineHash is the CSP source of the one <tag> element of page.
func inlineHash(tag string) string {
	s := string(page)
	open := strings.Index(s, "<"+tag+">")
	end := strings.Index(s, "</"+tag+">")
	if open < 0 || end < open {
		panic("admin: page.html has no <" + tag + "> element")
	}
	sum := sha256.Sum256([]byte(s[open+len(tag)+2 : end]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(page)
}
