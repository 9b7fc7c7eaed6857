package admin

import (
	"fmt"
	"html"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The profiler is served from runtime/pprof directly: importing
// net/http/pprof would register it on http.DefaultServeMux of every
// program that imports this package, whether it asked for it or not.
// The routes and parameters are those of net/http/pprof, so
// `go tool pprof http://HOST/debug/pprof/heap` works as usual.

// maxProfileSeconds bounds ?seconds= of /debug/pprof/profile and trace.
const maxProfileSeconds = 300

func registerPprof(m *http.ServeMux) {
	m.HandleFunc("GET /debug/pprof/{$}", pprofIndex)
	m.HandleFunc("GET /debug/pprof/cmdline", pprofCmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprofCPU)
	m.HandleFunc("GET /debug/pprof/trace", pprofTrace)
	m.HandleFunc("GET /debug/pprof/{name}", pprofNamed)
}

func pprofIndex(w http.ResponseWriter, _ *http.Request) {
	profiles := pprof.Profiles()
	sort.Slice(profiles, func(i, j int) bool { return profiles[i].Name() < profiles[j].Name() })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html><title>/debug/pprof/</title><h1>/debug/pprof/</h1><table>\n")
	for _, p := range profiles {
		n := html.EscapeString(p.Name())
		fmt.Fprintf(&b, "<tr><td>%d</td><td><a href=\"%s?debug=1\">%s</a></td></tr>\n", p.Count(), n, n)
	}
	b.WriteString("<tr><td></td><td><a href=\"profile?seconds=30\">profile</a> (CPU, 30 s)</td></tr>\n")
	b.WriteString("<tr><td></td><td><a href=\"trace?seconds=5\">trace</a> (execution trace, 5 s)</td></tr>\n")
	b.WriteString("<tr><td></td><td><a href=\"cmdline\">cmdline</a></td></tr>\n</table>\n")
	w.Write([]byte(b.String()))
}

func pprofCmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(strings.Join(os.Args, "\x00")))
}

// seconds reads ?seconds=, def when absent.
func seconds(r *http.Request, def int) (time.Duration, error) {
	s := r.URL.Query().Get("seconds")
	if s == "" {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxProfileSeconds {
		return 0, fmt.Errorf("seconds=%q: want a whole number from 1 to %d", s, maxProfileSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

// wait sleeps d, or less when the client goes.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func pprofCPU(w http.ResponseWriter, r *http.Request) {
	d, err := seconds(r, 30)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot start a CPU profile: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	wait(r, d)
	pprof.StopCPUProfile()
}

func pprofTrace(w http.ResponseWriter, r *http.Request) {
	d, err := seconds(r, 1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	if err := trace.Start(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot start a trace: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	wait(r, d)
	trace.Stop()
}

func pprofNamed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, fmt.Sprintf("no profile named %q", name), http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	if gc, _ := strconv.Atoi(r.URL.Query().Get("gc")); gc > 0 && name == "heap" {
		runtime.GC() // as net/http/pprof: ?gc=1 collects garbage first
	}
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	p.WriteTo(w, debug)
}
