// A leader-gated worker: does its work only while the local zkelect leads.
//
//   ZKELECT_URL=http://127.0.0.1:4040 java LeaderWorker.java    (Java 11 or later)
//
// A thread long-polls GET /is-leader (?index=N&wait=1s answers as soon as
// this node's role changes); the main thread does one bounded unit of work
// at a time, and only while the last answer was 200. java.net.http only.
// It has no Unix sockets, so it asks over TCP loopback (http.listen must
// include one, e.g. "127.0.0.1:4040,unix:/run/zkelect/api.sock"); a GET
// needs no token even when http.token_file is set.
//
// What it guarantees: the gate closes within milliseconds of the daemon's
// role leaving "leader", and at once when the daemon cannot be asked (a
// failed or timed-out poll counts as "not leader"; after a restart of the
// daemon it simply polls again). A unit in progress is finished, so work
// stops at most WORK_UNIT after that. The daemon itself stops leading when it
// has not heard from ZooKeeper for session_timeout/2, and ZooKeeper cannot
// elect another node before session_timeout: with WORK_UNIT well below
// session_timeout/2, a lost connection never lets this work overlap the next
// leader's. On a resign or a SIGTERM of the daemon the next leader may start
// as soon as our node is deleted, so the last unit can overlap it by up to
// WORK_UNIT (make the on_stop hook wait for the worker if that matters).
// A frozen daemon (SIGSTOP, VM pause) cannot say that it stopped leading: a
// poll parks at most POLL_WAIT_S, so no answer within ANSWER_TIMEOUT closes the gate,
// inside the lease while ANSWER_TIMEOUT + WORK_UNIT stays below session_timeout/2.
// Not covered: this worker frozen itself; where strict
// mutual exclusion matters, check the epoch (GET /leader) where you write.
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;

public class LeaderWorker {
  static final Duration WORK_UNIT = Duration.ofMillis(200); // well under session_timeout / 2
  static final int POLL_WAIT_S = 1; // how long one long-poll may park in the daemon
  // No answer by then is "not leader" (a frozen daemon).
  static final Duration ANSWER_TIMEOUT = Duration.ofMillis(POLL_WAIT_S * 1000 + 300);
  static volatile boolean leading = false;

  static void log(String message) {
    System.out.printf(Locale.ROOT, "%.3f %s%n", System.currentTimeMillis() / 1000.0, message);
  }

  static void setLeading(boolean yes, String why) {
    if (yes != leading) log(yes ? "leading" : "not leading (" + why + ")");
    leading = yes;
  }

  // Keeps `leading` equal to the daemon's answer, or false if there is none.
  static void watch(String base) {
    HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade
        .connectTimeout(Duration.ofSeconds(5))
        .build();
    long index = 0;
    for (;;) {
      try {
        try {
          HttpRequest request = HttpRequest
              .newBuilder(URI.create(base + "/is-leader?index=" + index + "&wait=" + POLL_WAIT_S + "s"))
              .timeout(ANSWER_TIMEOUT)
              .build();
          HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
          setLeading(response.statusCode() == 200, "HTTP " + response.statusCode());
          long previous = index;
          index = response.headers().firstValueAsLong("X-Zkelect-Index").orElse(0);
          if (index == previous) Thread.sleep(200); // nothing new: never spin
        } catch (IOException | RuntimeException error) { // no usable answer: not leader
          setLeading(false, "no answer from " + base + ": " + error);
          index = 0;
          Thread.sleep(1000);
        }
      } catch (InterruptedException stop) {
        setLeading(false, "interrupted");
        return;
      }
    }
  }

  public static void main(String[] args) throws InterruptedException {
    String base = System.getenv().getOrDefault("ZKELECT_URL", "http://127.0.0.1:4040");
    Thread watcher = new Thread(() -> watch(base), "zkelect-watch");
    watcher.setDaemon(true);
    watcher.start();
    for (long unit = 1; ; ) {
      if (!leading) { // the gate, checked before every unit
        Thread.sleep(10);
        continue;
      }
      log("begin unit " + unit);
      Thread.sleep(WORK_UNIT.toMillis()); // the leader-only work goes here
      log("end unit " + unit);
      unit++;
    }
  }
}
