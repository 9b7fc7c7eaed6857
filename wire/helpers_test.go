package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// Small assertion helpers; the package tests use the standard library only.

func noErr(tb testing.TB, err error, what string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func sameBytes(tb testing.TB, want, got []byte, what string) {
	tb.Helper()
	if !bytes.Equal(want, got) {
		tb.Fatalf("%s:\n want %s\n got  %s", what, hex.EncodeToString(want), hex.EncodeToString(got))
	}
}

func sameValue(tb testing.TB, want, got any, what string) {
	tb.Helper()
	if !reflect.DeepEqual(normalize(want), normalize(got)) {
		tb.Fatalf("%s:\n want %#v\n got  %#v", what, want, got)
	}
}

// normalize returns a copy of v in which empty byte slices and empty lists
// are nil, so that a decoded value equals the value it was encoded from: the
// wire cannot tell nil from empty.
func normalize(v any) any {
	if v == nil {
		return nil
	}
	return normValue(reflect.ValueOf(v)).Interface()
}

func normValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Elem().Type())
		p.Elem().Set(normValue(v.Elem()))
		return p
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		for i := range v.NumField() {
			if s.Field(i).CanSet() {
				s.Field(i).Set(normValue(v.Field(i)))
			}
		}
		return s
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(normValue(v.Index(i)))
		}
		return s
	}
	return v
}
