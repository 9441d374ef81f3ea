#!/usr/bin/env node
// A leader-gated worker: does its work only while the local zkelect leads.
//
//   ZKELECT_SOCKET=/run/zkelect/api.sock node leader_worker.js
//
// watch() long-polls GET /is-leader over the daemon's Unix socket
// (?index=N&wait=1s answers as soon as this node's role changes); work()
// does one bounded unit of work at a time, and only while the last answer
// was 200. Built-in modules only (node:http; Node.js 18 or later). The work
// must be asynchronous (or short synchronous slices): the watcher runs on the
// same event loop.
//
// What it guarantees: the gate closes within milliseconds of the daemon's
// role leaving "leader", and at once when the daemon cannot be asked (a
// failed or timed-out poll counts as "not leader"; after a restart of the
// daemon it simply polls again). A unit in progress is finished, so work
// stops at most WORK_UNIT_MS after that. The daemon itself stops leading when
// it has not heard from ZooKeeper for session_timeout/2, and ZooKeeper cannot
// elect another node before session_timeout: with WORK_UNIT_MS well below
// session_timeout/2, a lost connection never lets this work overlap the next
// leader's. On a resign or a SIGTERM of the daemon the next leader may start
// as soon as our node is deleted, so the last unit can overlap it by up to
// WORK_UNIT_MS (make the on_stop hook wait for the worker if that matters).
// A frozen daemon (SIGSTOP, VM pause) cannot say that it stopped leading: a
// poll parks at most POLL_WAIT_S, so no answer within ANSWER_TIMEOUT_MS closes the gate,
// inside the lease while ANSWER_TIMEOUT_MS + WORK_UNIT_MS stays below session_timeout/2.
// Not covered: this worker frozen itself; where strict mutual
// exclusion matters, check the epoch (GET /leader) where you write.
'use strict';
const http = require('node:http');

const SOCKET = process.env.ZKELECT_SOCKET || '/run/zkelect/api.sock';
const WORK_UNIT_MS = 200; // keep it well under session_timeout / 2
const POLL_WAIT_S = 1; // how long one long-poll may park in the daemon
const ANSWER_TIMEOUT_MS = POLL_WAIT_S * 1000 + 300; // no answer by then is "not leader" (a frozen daemon)

let leading = false;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.log(`${(Date.now() / 1000).toFixed(3)} ${message}`);

function setLeading(yes, why) {
  if (yes !== leading) log(yes ? 'leading' : `not leading (${why})`);
  leading = yes;
}

// One long-poll: resolves to {status, index}, rejects when there is no answer.
function isLeader(index) {
  return new Promise((resolve, reject) => {
    const request = http.get({
      socketPath: SOCKET,
      path: `/is-leader?index=${index}&wait=${POLL_WAIT_S}s`,
      timeout: ANSWER_TIMEOUT_MS,
    }, (response) => {
      response.resume();
      response.on('end', () => resolve({
        status: response.statusCode,
        index: response.headers['x-zkelect-index'] || '0',
      }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer in time')));
    request.on('error', reject);
  });
}

// Keeps `leading` equal to the daemon's answer, or false if there is none.
async function watch() {
  let index = '0';
  for (;;) {
    try {
      const answer = await isLeader(index);
      setLeading(answer.status === 200, `HTTP ${answer.status}`);
      const previous = index;
      index = answer.index;
      if (index === previous) await sleep(200); // nothing new: never spin
    } catch (error) {
      setLeading(false, `no answer from ${SOCKET}: ${error.message}`);
      index = '0';
      await sleep(1000);
    }
  }
}

async function work() {
  for (let unit = 1; ; ) {
    if (!leading) { // the gate, checked before every unit
      await sleep(10);
      continue;
    }
    log(`begin unit ${unit}`);
    await sleep(WORK_UNIT_MS); // the leader-only work goes here
    log(`end unit ${unit}`);
    unit++;
  }
}

watch();
work();
