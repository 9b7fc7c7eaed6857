package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Phase names the part of a run a Progress report is about.
type Phase string

const (
	// PhaseWarmup is the workload before the measurement (Options.Warmup).
	PhaseWarmup Phase = "warmup"
	// PhaseRun is the measured workload.
	PhaseRun Phase = "run"
	// PhaseDrain is the wait, after the casts of a cast run or warmup, until
	// the target has counted them all.
	PhaseDrain Phase = "drain"
)

// Progress is a report on a run under way.
type Progress struct {
	Phase Phase
	// Elapsed is the time since the phase began.
	Elapsed time.Duration
	// Ops is the number of operations done in the phase so far: calls
	// answered, casts sent; while draining, casts the target has counted.
	Ops int64
	// Rate is the operations per second since the previous report.
	Rate float64
}

// Result is the outcome of a run. Its JSON keys are fixed: other tools
// read them.
type Result struct {
	Workload    string `json:"workload"`
	Concurrency int    `json:"concurrency"`
	Size        int    `json:"size"`
	// Ops is the number of operations in the measured time: calls
	// answered, or casts the target received (every cast sent).
	Ops int64 `json:"ops"`
	// OpsPerSec is Ops divided by the measured time.
	OpsPerSec float64 `json:"ops_per_sec"`
	// P50us and P99us are latency quantiles in microseconds: a call's round
	// trip; for casts, the time Cast took to return. Each is timed from the
	// end of the worker's previous operation, one clock read apiece.
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	// MBPerSec is the payload bytes this side sent per second, in 10^6
	// bytes: Ops × Size over the measured time. For call it counts the
	// requests only; the replies carry as many bytes back.
	MBPerSec float64 `json:"mb_per_sec"`
	// MaxUs is the largest latency, in microseconds.
	MaxUs float64 `json:"max_us"`
	// ElapsedSec is the measured time in seconds: from the first operation
	// until the last call was answered or, for cast, until the target had
	// counted every cast.
	ElapsedSec float64 `json:"elapsed_sec"`
	Payload    string  `json:"payload"`
	Target     string  `json:"target"`
	// For the lock workload: LockNode is the node whose table the locks
	// took (the leader), Bulk the size of the calls sent alongside and
	// BulkMBPerSec their payload megabytes per second.
	LockNode     string  `json:"lock_node,omitempty"`
	Bulk         int     `json:"bulk,omitempty"`
	BulkMBPerSec float64 `json:"bulk_mb_per_sec,omitempty"`

	// Latency holds every latency of the measured time.
	Latency *Histogram `json:"-"`
}

// drainStall bounds how long a cast run waits for the target's count to
// move before it concludes the missing casts were lost.
const drainStall = 5 * time.Second

// drainPoll is the pause between two counts while draining. It bounds the
// error the poll adds to a cast run's time.
const drainPoll = time.Millisecond

// Run drives workload o against target, a node n is linked to (n.Join it
// first) that serves the bench methods (Serve), and returns what it
// measured. It returns early, with the error and the Result so far, when
// ctx ends, when an operation fails (the target went down, for example) or
// when the target does not serve the bench methods (ErrNotServing). One
// cast run at a time per target: the target's cast count is shared.
func Run(ctx context.Context, n *mesh.Node, target string, o Options) (Result, error) {
	if n == nil {
		return Result{}, errors.New("load: Run: the node is nil, want a started *mesh.Node")
	}
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	o = o.WithDefaults()
	d := &driver{n: n, target: target, o: o, payload: makePayload(o.Payload, o.Size)}
	res := Result{Workload: o.Workload, Concurrency: o.Concurrency, Size: o.Size, Payload: o.Payload, Target: target, Bulk: o.Bulk}
	// The first count also checks that the target serves the bench methods.
	if _, _, err := Count(ctx, n, target); err != nil {
		return res, err
	}
	if o.Workload == WorkloadLock {
		lk, leader, err := lockService(n)
		if err != nil {
			return res, err
		}
		defer lk.Close()
		d.lk, res.LockNode = lk, leader
		d.bulk = makePayload(o.Payload, o.Bulk)
	}
	if o.Warmup > 0 {
		if _, err := d.measure(ctx, PhaseWarmup, o.Warmup); err != nil {
			return res, fmt.Errorf("load: warmup: %w", err)
		}
	}
	m, err := d.measure(ctx, PhaseRun, o.Duration)
	res.Latency = &m.hist
	res.Ops = m.ops
	res.ElapsedSec = m.elapsed.Seconds()
	if m.elapsed > 0 {
		res.OpsPerSec = float64(m.ops) / m.elapsed.Seconds()
		res.MBPerSec = float64(m.ops) * float64(o.Size) / m.elapsed.Seconds() / 1e6
	}
	if m.elapsed > 0 && o.Bulk > 0 {
		res.BulkMBPerSec = float64(m.bulkBytes) / m.elapsed.Seconds() / 1e6
	}
	res.P50us = micros(m.hist.Quantile(0.50))
	res.P99us = micros(m.hist.Quantile(0.99))
	res.MaxUs = micros(m.hist.Max())
	return res, err
}

func micros(d time.Duration) float64 { return float64(d) / 1e3 }

// lockService attaches the lock workload's locker to n and returns it with
// the node whose table its leader locks take: another node, or the
// workload would measure no network at all.
func lockService(n *mesh.Node) (*locker.Locker, string, error) {
	lk, err := locker.New(n, locker.Config{Name: locker.DefaultName})
	if err != nil {
		return nil, "", fmt.Errorf("load: the lock workload needs a lock service named %q on %s: %w", locker.DefaultName, n.Name(), err)
	}
	nodes, _, err := lk.Targets(locker.Leader, "bench")
	if err != nil {
		lk.Close()
		return nil, "", fmt.Errorf("load: the lock workload: %w", err)
	}
	if nodes[0] == n.Name() {
		lk.Close()
		return nil, "", fmt.Errorf("load: the lock workload takes leader locks, and the leader (the oldest member) is this node, %s: drive it from a node that joined after the target", n.Name())
	}
	return lk, nodes[0], nil
}

// makePayload returns size bytes of the kind asked.
func makePayload(kind string, size int) []byte {
	p := make([]byte, size)
	if kind == PayloadRandom {
		// A fixed seed: runs send the same bytes.
		rng := rand.NewChaCha8([32]byte{'e', 'k', 'k', 'a'})
		rng.Read(p)
	}
	return p
}

// driver runs one workload against one target.
type driver struct {
	n       *mesh.Node
	target  string
	o       Options
	payload []byte // read by every worker, written by none

	lk   *locker.Locker // the lock workload's lock service
	bulk []byte         // the lock workload's bulk payload (Options.Bulk)
}

// worker is one caller or casting goroutine: it alone writes its
// histogram, and its count of operations, which the progress reports read.
type worker struct {
	index int
	ops   atomic.Int64
	hist  Histogram
}

// measurement is what one phase measured.
type measurement struct {
	ops       int64
	elapsed   time.Duration
	hist      Histogram
	bulkBytes int64 // lock workload: bulk payload bytes sent alongside
}

// measure runs the workload for dur (and, for cast, drains) and returns
// what it measured, with the first error of any worker.
func (d *driver) measure(ctx context.Context, phase Phase, dur time.Duration) (measurement, error) {
	var base [2]uint64
	if d.o.Workload == WorkloadCast {
		c, b, err := Count(ctx, d.n, d.target)
		if err != nil {
			return measurement{}, err
		}
		base = [2]uint64{c, b}
	}
	start := time.Now()
	var bulkBytes atomic.Int64
	stopBulk := d.sendBulk(ctx, &bulkBytes)
	workers, end, err := d.drive(ctx, phase, start, dur)
	m := measurement{elapsed: end.Sub(start), bulkBytes: bulkBytes.Load()}
	if berr := stopBulk(); err == nil {
		err = berr
	}
	for _, w := range workers {
		m.ops += w.ops.Load()
		m.hist.Merge(&w.hist)
	}
	if err != nil || d.o.Workload != WorkloadCast {
		return m, err
	}
	sent := uint64(m.ops)
	end, err = d.drain(ctx, base, sent, sent*uint64(d.o.Size))
	m.elapsed = end.Sub(start)
	return m, err
}

// drive runs the workers until dur has passed since start, ctx ends or an
// operation fails, reporting progress meanwhile. end is when the last
// worker stopped.
func (d *driver) drive(ctx context.Context, phase Phase, start time.Time, dur time.Duration) (workers []*worker, end time.Time, err error) {
	var stop atomic.Bool
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		stop.Store(true)
	}
	timer := time.AfterFunc(time.Until(start.Add(dur)), func() { stop.Store(true) })
	defer timer.Stop()
	unhook := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer unhook()

	workers = make([]*worker, d.o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{index: i}
		workers[i] = w
		wg.Go(func() {
			if err := d.loop(ctx, w, &stop); err != nil {
				fail(err)
			}
		})
	}
	reporting := d.report(phase, start, func() int64 {
		var ops int64
		for _, w := range workers {
			ops += w.ops.Load()
		}
		return ops
	})
	wg.Wait()
	end = time.Now()
	reporting()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	return workers, end, firstErr
}

// loop runs operations until stop is set; it returns the error that ended
// it early. An operation cut short by ctx is not counted and not an error
// of its own (drive reports ctx's).
//
// An operation's latency is the time from the previous one's end to its
// own: one clock read per operation (about 30 ns here, where time.Now and
// time.Since around each operation cost 100 ns, a quarter of a cast). It
// includes the loop's own few nanoseconds of bookkeeping.
func (d *driver) loop(ctx context.Context, w *worker, stop *atomic.Bool) error {
	var ops int64
	base := time.Now()
	prev := time.Since(base) // monotonic clock only
	switch d.o.Workload {
	case WorkloadLock:
		resource := fmt.Sprintf("bench/%d", w.index)
		opts := locker.Options{Type: locker.Leader, Owner: fmt.Sprintf("%s/bench/%d", d.n.Name(), w.index)}
		for !stop.Load() {
			r, err := d.lk.Acquire(ctx, resource, opts)
			if err == nil && r.OK {
				r, err = d.lk.Release(ctx, resource, opts)
			}
			now := time.Since(base)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				return fmt.Errorf("load: lock %s: %w", resource, err)
			case !r.OK:
				return fmt.Errorf("load: lock %s on %s: %v", resource, d.target, r.Refused)
			}
			w.hist.Record(now - prev)
			prev = now
			ops++
			w.ops.Store(ops)
		}
	case WorkloadCast:
		for !stop.Load() {
			err := d.n.Cast(d.target, MethodCast, d.payload)
			now := time.Since(base)
			if err != nil {
				return fmt.Errorf("load: cast %s to %s: %w", MethodCast, d.target, err)
			}
			w.hist.Record(now - prev)
			prev = now
			ops++
			w.ops.Store(ops)
		}
	default:
		method, want := MethodEcho, len(d.payload)
		if d.o.Workload == WorkloadBulk {
			method, want = MethodSink, 0
		}
		for !stop.Load() {
			reply, err := d.n.Call(ctx, d.target, method, d.payload)
			now := time.Since(base)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, mesh.ErrNoHandler) {
					err = ErrNotServing
				}
				return fmt.Errorf("load: call %s on %s: %w", method, d.target, err)
			}
			if len(reply) != want {
				return fmt.Errorf("load: %s on %s replied %d bytes, want %d", method, d.target, len(reply), want)
			}
			w.hist.Record(now - prev)
			prev = now
			ops++
			w.ops.Store(ops)
		}
	}
	return nil
}

// sendBulk starts, for the lock workload with Options.Bulk, one caller
// sending bench.sink calls of the bulk payload to the target until the
// returned function is called; that function waits for it and returns the
// error that stopped it early, if any. Bytes of the calls answered go to
// sent.
func (d *driver) sendBulk(ctx context.Context, sent *atomic.Int64) (stop func() error) {
	if len(d.bulk) == 0 {
		return func() error { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if _, err := d.n.Call(ctx, d.target, MethodSink, d.bulk); err != nil {
				if ctx.Err() != nil {
					break
				}
				done <- fmt.Errorf("load: bulk call %s on %s: %w", MethodSink, d.target, err)
				return
			}
			sent.Add(int64(len(d.bulk)))
		}
		done <- nil
	}()
	return func() error {
		cancel()
		return <-done
	}
}

// report calls Options.Progress every ProgressInterval with ops() until
// the returned function is called; that function returns once no report
// is under way or to come.
func (d *driver) report(phase Phase, start time.Time, ops func() int64) (stop func()) {
	if d.o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		lastOps, lastAt := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n := ops()
				var rate float64
				if dt := now.Sub(lastAt).Seconds(); dt > 0 {
					rate = float64(n-lastOps) / dt
				}
				d.o.Progress(Progress{Phase: phase, Elapsed: now.Sub(start), Ops: n, Rate: rate})
				lastOps, lastAt = n, now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// drain waits until the target has counted sent casts and sentBytes
// payload bytes more than base, and returns when it saw them. It fails when
// the count stops moving for drainStall (casts were lost: the link went
// down) or ctx ends.
func (d *driver) drain(ctx context.Context, base [2]uint64, sent, sentBytes uint64) (time.Time, error) {
	var received atomic.Int64
	reporting := d.report(PhaseDrain, time.Now(), received.Load)
	defer reporting()
	var last uint64
	lastMoved := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		casts, bytes, err := Count(ctx, d.n, d.target)
		now := time.Now()
		if err != nil {
			return now, fmt.Errorf("load: counting the casts received: %w", err)
		}
		got, gotBytes := casts-base[0], bytes-base[1]
		received.Store(int64(got))
		if got >= sent && gotBytes >= sentBytes {
			return now, nil
		}
		if got != last {
			last, lastMoved = got, now
		} else if now.Sub(lastMoved) > drainStall {
			return now, fmt.Errorf("load: %s counted %d of the %d casts sent and no more for %v: the others were lost", d.target, got, sent, drainStall)
		}
		t.Reset(drainPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			return time.Now(), context.Cause(ctx)
		}
	}
}
