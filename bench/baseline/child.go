package baseline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ServeEnv names the environment variable that makes a test binary a
// server: its value is the kind (KindRawTCP, KindNetRPC, KindGRPC, KindEkka).
const ServeEnv = "EKKA_BENCH_SERVE"

// The ekka child's settings travel in these environment variables.
const (
	EnvNodeName = "EKKA_BENCH_NAME"   // the child node's name
	EnvCookie   = "EKKA_BENCH_COOKIE" // the cluster cookie
	EnvPeer     = "EKKA_BENCH_PEER"   // name=addr of the client node, so the child can dial it back
	// EnvCompression is "off" to run the child node with compression off
	// (mesh.Config.Compression: off, on or auto); empty or "default" keeps the default.
	EnvCompression = "EKKA_BENCH_COMPRESSION"
)

// The kinds of server a child can run.
const (
	KindRawTCP = "rawtcp"
	KindNetRPC = "netrpc"
	KindGRPC   = "grpc"
	KindEkka   = "ekka"
)

// Kinds lists every kind of server, in the order the docs name them.
var Kinds = []string{KindEkka, KindRawTCP, KindNetRPC, KindGRPC}

// ServeChild runs the server of kind on 127.0.0.1 with a free port, prints
// "ready ADDR" (and the node name for ekka) on standard output, and serves
// until standard input closes. It returns the process exit code.
func ServeChild(kind string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The parent closes our standard input to stop us (or dies).
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	ready := func(addr, name string) {
		fmt.Println(strings.TrimSpace("ready " + addr + " " + name))
	}
	if err := Serve(ctx, kind, os.Getenv, ready); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", kind, err)
		return 1
	}
	return 0
}

// Serve runs the server of kind until ctx ends. ready is called once the
// server listens, with its address and, for ekka, its node name. getenv
// supplies the ekka settings (EnvNodeName, EnvCookie, EnvPeer).
func Serve(ctx context.Context, kind string, getenv func(string) string, ready func(addr, name string)) error {
	if kind == KindEkka {
		return serveEkka(ctx, getenv, ready)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	switch kind {
	case KindRawTCP:
		ready(ln.Addr().String(), "")
		return ServeRawTCP(ctx, ln)
	case KindNetRPC:
		ready(ln.Addr().String(), "")
		return ServeNetRPC(ctx, ln)
	case KindGRPC:
		ready(ln.Addr().String(), "")
		return ServeGRPC(ctx, ln)
	}
	return fmt.Errorf("unknown server kind %q, want one of %s", kind, strings.Join(Kinds, ", "))
}

// ParseReady parses the line a child prints once it listens: "ready ADDR"
// or "ready ADDR NAME".
func ParseReady(line string) (addr, name string, err error) {
	f := strings.Fields(line)
	if len(f) < 2 || len(f) > 3 || f[0] != "ready" {
		return "", "", fmt.Errorf("child said %q, want \"ready ADDR [NAME]\"", line)
	}
	if _, _, err := net.SplitHostPort(f[1]); err != nil {
		return "", "", fmt.Errorf("child said %q: address %q: %v, want host:port", line, f[1], err)
	}
	if len(f) == 3 {
		name = f[2]
	}
	return f[1], name, nil
}

// Child is a server running in a child process.
type Child struct {
	Kind string
	Addr string // where it listens
	Name string // its node name (ekka only)

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *tailBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed

	stopOnce sync.Once
	stopErr  error
}

// StartChild re-executes this binary as a server of kind (the binary's
// TestMain must call ServeChild, see the package doc) with env added to its
// environment, and waits until it listens or ctx ends.
func StartChild(ctx context.Context, kind string, env ...string) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench child %s: %w", kind, err)
	}
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), ServeEnv+"="+kind)
	cmd.Env = append(cmd.Env, env...)
	return startProcess(ctx, kind, cmd)
}

// startProcess starts cmd, which must print a ready line first.
func startProcess(ctx context.Context, kind string, cmd *exec.Cmd) (*Child, error) {
	c, err := startLines(kind, cmd)
	if err != nil {
		return nil, err
	}
	l, err := c.readLine(ctx)
	if err != nil {
		c.Stop(context.Background())
		return nil, fmt.Errorf("bench child %s: not ready: %w", kind, err)
	}
	c.Addr, c.Name, err = ParseReady(l)
	if err != nil {
		c.Stop(context.Background())
		return nil, fmt.Errorf("bench child %s: %w", kind, err)
	}
	return c, nil
}

// startLines starts cmd with its standard input open and its standard
// output read line by line.
func startLines(kind string, cmd *exec.Cmd) (*Child, error) {
	c := &Child{Kind: kind, cmd: cmd, stderr: &tailBuffer{max: 4096}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	c.stdin = stdin
	c.lines = make(chan string, 16)
	cmd.Stdout = &lineWriter{ch: c.lines}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench child %s: %w", kind, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// readLine returns the next line the child prints.
func (c *Child) readLine(ctx context.Context) (string, error) {
	select {
	case l := <-c.lines:
		return l, nil
	case <-c.done:
		select {
		case l := <-c.lines:
			return l, nil
		default:
		}
		return "", fmt.Errorf("exited (%v); stderr: %s", c.err, c.stderr)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Command writes line to the child's standard input and returns the next
// line the child prints.
func (c *Child) Command(ctx context.Context, line string) (string, error) {
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("bench child %s: %q: %w; stderr: %s", c.Kind, line, err, c.stderr)
	}
	l, err := c.readLine(ctx)
	if err != nil {
		return "", fmt.Errorf("bench child %s: %q: %w", c.Kind, line, err)
	}
	return l, nil
}

// Stop closes the child's standard input, which tells it to stop, and waits
// for it to exit; when ctx ends first it kills the child. It returns an
// error when the child failed.
func (c *Child) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		c.stdin.Close()
		select {
		case <-c.done:
		case <-ctx.Done():
			c.cmd.Process.Kill()
			<-c.done
			c.stopErr = fmt.Errorf("bench child %s did not stop in time and was killed; stderr: %s", c.Kind, c.stderr)
			return
		}
		if c.err != nil {
			c.stopErr = fmt.Errorf("bench child %s: %v; stderr: %s", c.Kind, c.err, c.stderr)
		}
	})
	return c.stopErr
}

// StopWithin is Stop with a deadline of d from now.
func (c *Child) StopWithin(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Stop(ctx)
}

// lineWriter sends every line written to it on ch, dropping lines when
// nobody reads them (so a chatty child never blocks its own exit).
type lineWriter struct {
	ch chan string
	b  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	for {
		i := bytes.IndexByte(w.b, '\n')
		if i < 0 {
			break
		}
		select {
		case w.ch <- string(w.b[:i]):
		default:
		}
		w.b = w.b[i+1:]
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.b))
	if s == "" {
		return "(empty)"
	}
	return s
}
