// A leader-gated worker: does its work only while the local zkelect leads.
//
//	go build -o leader-worker leader_worker.go
//	ZKELECT_SOCKET=/run/zkelect/api.sock ./leader-worker
//
// One goroutine long-polls GET /is-leader over the daemon's Unix socket
// (?index=N&wait=1s answers as soon as this node's role changes); the main
// goroutine does one bounded unit of work at a time, and only while the
// last answer was 200. Standard library only (net/http).
//
// What it guarantees: the gate closes within milliseconds of the daemon's
// role leaving "leader", and at once when the daemon cannot be asked (a
// failed or timed-out poll counts as "not leader"; after a restart of the
// daemon it simply polls again). A unit in progress is finished, so work
// stops at most workUnit after that. The daemon itself stops leading when it
// has not heard from ZooKeeper for session_timeout/2, and ZooKeeper cannot
// elect another node before session_timeout: with workUnit well below
// session_timeout/2, a lost connection never lets this work overlap the next
// leader's. On a resign or a SIGTERM of the daemon the next leader may start
// as soon as our node is deleted, so the last unit can overlap it by up to
// workUnit (make the on_stop hook wait for the worker if that matters).
// A frozen daemon (SIGSTOP, VM pause) cannot say that it stopped leading: a
// poll parks at most pollWait, so no answer within answerTimeout closes the gate,
// inside the lease while answerTimeout + workUnit stays below session_timeout/2.
// Not covered: this worker frozen itself; where strict mutual
// exclusion matters, check the epoch (GET /leader) where you write.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

const (
	workUnit = 200 * time.Millisecond // keep it well under session_timeout / 2
	pollWait = 1 * time.Second        // how long one long-poll may park in the daemon
	// No answer by then is "not leader" (a frozen daemon).
	answerTimeout = pollWait + 300*time.Millisecond
)

var leading atomic.Bool

func logf(format string, args ...any) {
	fmt.Printf("%.3f %s\n", float64(time.Now().UnixMilli())/1000, fmt.Sprintf(format, args...))
}

func setLeading(yes bool, why string) {
	if leading.Swap(yes) != yes {
		if yes {
			logf("leading")
		} else {
			logf("not leading (%s)", why)
		}
	}
}

// watch keeps `leading` equal to the daemon's answer, or false if there is none.
func watch(socket string) {
	client := &http.Client{
		Timeout: answerTimeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}},
	}
	index := "0"
	for {
		resp, err := client.Get(fmt.Sprintf("http://localhost/is-leader?index=%s&wait=%ds", index, int(pollWait.Seconds())))
		if err != nil {
			setLeading(false, "no answer: "+err.Error())
			index = "0"
			time.Sleep(time.Second)
			continue
		}
		resp.Body.Close()
		setLeading(resp.StatusCode == 200, "HTTP "+strconv.Itoa(resp.StatusCode))
		previous := index
		index = resp.Header.Get("X-Zkelect-Index")
		if index == previous || index == "" {
			time.Sleep(200 * time.Millisecond) // nothing new: never spin on a daemon that answers at once
		}
	}
}

func main() {
	socket := os.Getenv("ZKELECT_SOCKET")
	if socket == "" {
		socket = "/run/zkelect/api.sock"
	}
	go watch(socket)
	for unit := 1; ; {
		if !leading.Load() { // the gate, checked before every unit
			time.Sleep(10 * time.Millisecond)
			continue
		}
		logf("begin unit %d", unit)
		time.Sleep(workUnit) // the leader-only work goes here
		logf("end unit %d", unit)
		unit++
	}
}
