package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// The binary's log: log/slog, text (logfmt-style) or JSON lines on stderr
// (log.format), at the level log.level or --log-level, which SIGHUP can
// change while the node runs. Every record goes through uniqueHandler, so
// that no key appears twice in one line whatever the call site did.

// logLevels maps the values of log.level and --log-level to slog levels.
var logLevels = map[config.LogLevel]slog.Level{
	config.LogDebug: slog.LevelDebug,
	config.LogInfo:  slog.LevelInfo,
	config.LogWarn:  slog.LevelWarn,
	config.LogError: slog.LevelError,
}

// checkLogFlag validates the value of --log-level or --log-format.
func checkLogFlag(flagName, v string) error {
	switch flagName {
	case "log-level":
		if _, ok := logLevels[config.LogLevel(v)]; !ok {
			return fmt.Errorf("--log-level %q: want debug, info, warn or error", v)
		}
	case "log-format":
		if v != string(config.LogText) && v != string(config.LogJSON) {
			return fmt.Errorf("--log-format %q: want text or json", v)
		}
	}
	return nil
}

// nodeLog is the log of a command that runs a node: the command's own
// logger and the mesh's, over one handler whose level can change.
type nodeLog struct {
	level   *slog.LevelVar
	handler slog.Handler
}

// newNodeLog writes records at level and above to w in format.
func newNodeLog(w io.Writer, format config.LogFormat, level slog.Level) *nodeLog {
	lv := new(slog.LevelVar)
	lv.Set(level)
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == config.LogJSON {
		// Durations as in the text format and the configuration ("15s"),
		// not as a count of nanoseconds.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return &nodeLog{level: lv, handler: newUniqueHandler(h)}
}

// settingsLog is newNodeLog with the level and format of s.
func settingsLog(w io.Writer, s config.Settings) *nodeLog {
	return newNodeLog(w, s.Log.Format, logLevels[s.Log.Level])
}

// logger is the command's own logger: lifecycle and events.
func (l *nodeLog) logger() *slog.Logger { return slog.New(l.handler) }

// meshLogger is the logger of the mesh, the locker and the discovery
// strategies: their warnings and errors, and the admin actions they carry
// out for ctl (mesh.AdminActionMsg, at info); everything at debug.
func (l *nodeLog) meshLogger() *slog.Logger {
	return slog.New(minLevelHandler{Handler: l.handler, min: meshLevel{l.level}})
}

// meshLevel is the least level of the mesh's routine records: the log's
// level at debug and below, else at least warn.
type meshLevel struct{ lv *slog.LevelVar }

func (m meshLevel) Level() slog.Level {
	l := m.lv.Level()
	if l <= slog.LevelDebug {
		return l
	}
	return max(l, slog.LevelWarn)
}

// minLevelHandler drops records below min, whatever the wrapped handler's
// own level, except admin actions (mesh.AdminActionMsg), which pass at the
// wrapped handler's level.
type minLevelHandler struct {
	slog.Handler
	min slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	// Records below min are let through here when the wrapped handler
	// takes them: Handle decides, once the message is known.
	return h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min.Level() && r.Message != mesh.AdminActionMsg {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

// uniqueHandler passes each record to the wrapped handler with every key at
// most once per group: when a key repeats (a logger made With("node", ...)
// and a call adding "node" again), the last value wins. Attributes named
// like the built-in keys (time, level, msg, source) are renamed
// attr.time and so on. It keeps the attributes of With and the groups of
// WithGroup itself and hands the wrapped handler complete records.
type uniqueHandler struct {
	inner slog.Handler
	// groups are the open groups, outermost first; attrs[0] are the
	// top-level attributes given to With, attrs[i] those inside groups[i-1].
	groups []string
	attrs  [][]slog.Attr
}

func newUniqueHandler(inner slog.Handler) *uniqueHandler {
	return &uniqueHandler{inner: inner, attrs: [][]slog.Attr{nil}}
}

func (h *uniqueHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *uniqueHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := &uniqueHandler{inner: h.inner, groups: h.groups, attrs: slices.Clone(h.attrs)}
	last := len(h2.attrs) - 1
	h2.attrs[last] = append(slices.Clip(h2.attrs[last]), as...)
	return h2
}

func (h *uniqueHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &uniqueHandler{
		inner:  h.inner,
		groups: append(slices.Clip(h.groups), name),
		attrs:  append(slices.Clip(h.attrs), nil),
	}
}

func (h *uniqueHandler) Handle(ctx context.Context, r slog.Record) error {
	last := len(h.attrs) - 1
	cur := slices.Clone(h.attrs[last])
	r.Attrs(func(a slog.Attr) bool {
		cur = append(cur, a)
		return true
	})
	for i := last; i > 0; i-- {
		inner := uniqueAttrs(cur)
		cur = append(slices.Clone(h.attrs[i-1]), slog.Attr{Key: h.groups[i-1], Value: slog.GroupValue(inner...)})
	}
	top := uniqueAttrs(renameBuiltins(cur))
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(top...)
	return h.inner.Handle(ctx, nr)
}

// renameBuiltins renames top-level attributes that would repeat a key the
// handler writes itself.
func renameBuiltins(as []slog.Attr) []slog.Attr {
	for i, a := range as {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey:
			as[i].Key = "attr." + a.Key
		}
	}
	return as
}

// uniqueAttrs returns as with values resolved, empty attributes dropped,
// inline groups (empty key) flattened, groups made unique inside, and each
// key once: the last occurrence, in its place.
func uniqueAttrs(as []slog.Attr) []slog.Attr {
	flat := make([]slog.Attr, 0, len(as))
	var add func([]slog.Attr)
	add = func(as []slog.Attr) {
		for _, a := range as {
			a.Value = a.Value.Resolve()
			if a.Value.Kind() == slog.KindGroup {
				if a.Key == "" {
					add(a.Value.Group())
					continue
				}
				a.Value = slog.GroupValue(uniqueAttrs(a.Value.Group())...)
			}
			if a.Equal(slog.Attr{}) {
				continue
			}
			flat = append(flat, a)
		}
	}
	add(as)
	lastAt := make(map[string]int, len(flat))
	for i, a := range flat {
		lastAt[a.Key] = i
	}
	if len(lastAt) == len(flat) {
		return flat
	}
	out := flat[:0]
	for i, a := range flat {
		if lastAt[a.Key] == i {
			out = append(out, a)
		}
	}
	return out
}

// applyLogFallback sets log.level to opts.logFallback (bench run's warn)
// when neither --log-level, --set, the file nor the environment sets it.
func applyLogFallback(s *config.Settings, opts runOptions, getenv func(string) string) {
	if opts.logFallback == "" {
		return
	}
	for _, o := range opts.overrides {
		if k, _, _ := strings.Cut(o, "="); strings.TrimSpace(k) == "log.level" {
			return
		}
	}
	if getenv != nil && getenv(config.EnvName("log.level")) != "" {
		return
	}
	if opts.configPath != "" {
		if entries, err := config.ParseFile(opts.configPath); err == nil {
			if _, ok := entries["log.level"]; ok {
				return
			}
		}
	}
	s.Log.Level = opts.logFallback
}

// reloadable are the keys a SIGHUP applies to a running node (and the
// node.tags.* family, see reloadApply).
var reloadable = []string{"log.level", "node.cookie", "node.cookie_previous"}

// tagsFamily is the key family of the node's tags, which a SIGHUP applies.
const tagsFamily = "node.tags.KEY"

// reloadApply is what reload hands changed settings to on the running node.
type reloadApply struct {
	setCookie func(current string, previous []string) error
	setTags   func(tags map[string]string) error
}

// cookieKeys are the reloadable keys reload applies with setCookie.
var cookieKeys = []string{"node.cookie", "node.cookie_previous"}

// reload is what a node does on SIGHUP: it loads its configuration again
// from the same file, environment and flags, applies log.level, gives
// setCookie the cookies when node.cookie or node.cookie_previous changed
// (an empty node.cookie is the cookie file's), gives setTags the node's
// tags when a node.tags.* key changed, and logs which keys changed
// and which of them need a restart. An invalid configuration is logged and
// changes nothing. It returns the settings now in force (running is
// returned when nothing could be applied).
func reload(opts runOptions, hooks runHooks, running config.Settings, nl *nodeLog, log *slog.Logger, apply reloadApply) config.Settings {
	log.Debug("SIGHUP: reloading the configuration", "config", opts.configPath)
	s, err := hooks.load(opts)
	if err != nil {
		log.Error("SIGHUP: the configuration is invalid; the node keeps running with its settings", "err", err.Error())
		return running
	}
	applyLogFallback(&s, opts, hooks.getenv)
	var applied, restart []string
	cookieChanged, tagsChanged := false, ""
	for _, k := range config.Keys() {
		was, now := keySetting(&running, k), keySetting(&s, k)
		switch {
		case was == now:
		case slices.Contains(cookieKeys, k.Key):
			cookieChanged = true // applied below; the values are secret
		case k.Family && k.Key == tagsFamily:
			tagsChanged = fmt.Sprintf("%s (%s -> %s)", k.Key, was, now) // applied below
		case slices.Contains(reloadable, k.Key):
			applied = append(applied, fmt.Sprintf("%s (%s -> %s)", k.Key, was, now))
		default:
			restart = append(restart, k.Key)
		}
	}
	nl.level.Set(logLevels[s.Log.Level])
	// What stays as it ran is what the next SIGHUP compares with: the
	// keys that need a restart keep their running values.
	next := running
	next.Log.Level = s.Log.Level
	if cookieChanged {
		// An empty node.cookie is the cookie file's, which a reload reads
		// but never creates: a new random cookie would cut the node off.
		resolved := s
		var err error
		if home := hooks.getenv("HOME"); s.Node.Cookie == "" && home != "" {
			if _, serr := os.Stat(filepath.Join(home, config.CookieFile)); serr != nil {
				err = fmt.Errorf("node.cookie is empty and %s cannot be read (%v); a reload never creates it", filepath.Join(home, config.CookieFile), serr)
			}
		}
		if err == nil {
			_, _, err = config.ResolveCookie(&resolved, hooks.getenv("HOME"))
		}
		if err == nil {
			err = apply.setCookie(resolved.Node.Cookie, resolved.Node.CookiePrevious)
		}
		if err != nil {
			log.Error("SIGHUP: the new cookies are refused; the node keeps its cookies", "err", err.Error())
		} else {
			applied = append(applied, "node.cookie, node.cookie_previous (hidden)")
			next.Node.Cookie, next.Node.CookiePrevious = s.Node.Cookie, s.Node.CookiePrevious
		}
	}
	if tagsChanged != "" {
		if err := apply.setTags(s.Node.Tags); err != nil {
			log.Error("SIGHUP: the new tags are refused; the node keeps its tags", "err", err.Error())
		} else {
			applied = append(applied, tagsChanged)
			next.Node.Tags = s.Node.Tags
		}
	}
	switch {
	case len(applied) == 0 && len(restart) == 0:
		log.Info("SIGHUP: configuration unchanged; only log.level, the cookies and the tags are reloaded, other keys need a restart")
	case len(restart) == 0:
		log.Info("SIGHUP: reloaded " + strings.Join(applied, ", ") + "; other keys need a restart")
	default:
		did := "nothing reloaded"
		if len(applied) > 0 {
			did = "reloaded " + strings.Join(applied, ", ")
		}
		log.Warn("SIGHUP: "+did+"; changed keys that need a restart to apply: "+strings.Join(restart, ", "),
			"need_restart", strings.Join(restart, ","))
	}
	return next
}
