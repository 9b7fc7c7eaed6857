//go:build unix

package kubeapi

import "syscall"

func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup signals the process group pid leads.
func signalGroup(pid int, sig syscall.Signal) { syscall.Kill(-pid, sig) }
