package localaws

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel
// kill it when the thread that started it (so the test binary) dies: after
// a panic or a -timeout no cleanup runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
