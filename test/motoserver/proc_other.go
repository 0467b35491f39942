//go:build !linux

package motoserver

import (
	"os/exec"
	"syscall"
)

// sysProcAttr is the default: only Linux has a parent-death signal.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// kill kills moto.
func kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
