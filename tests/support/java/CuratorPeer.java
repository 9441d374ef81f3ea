// A Curator LeaderLatch participant for the integration tests of mixed
// elections (tests/integration/mixed_election_test.cc), started by
// tests/support/curator_peer.cc on Debian's Curator jars:
//
//   java -cp <jars>:<classes> CuratorPeer CONNECT PATH ID SESSION_MS LOG
//
// It appends its leaderships to LOG in the line format of the zkelect
// daemons' hook (tests/faults/hook_logger.cc), on the same clock
// (System.nanoTime() is CLOCK_MONOTONIC on Linux), so that one file orders
// every participant's leaderships:
//
//   start begin <ns> <ID> - elected     the latch elects it (isLeader)
//   stop end <ns> <ID> - notLeader      the latch says it lost the lead
//   stop end <ns> <ID> - shutdown       SIGTERM while leading
//
// SIGTERM runs the shutdown hook, a Curator application's graceful exit: it
// stops leading (the stop line) before it closes the latch, which deletes its
// node, then closes the session. (Curator's close() in its default mode calls
// no notLeader, so without this line a leadership ended by SIGTERM would
// have no end; bench/peers/CuratorParticipant.java, which stamps what the
// benchmark measures, has none.) Each line is one write() to a file opened
// with O_APPEND, which Linux keeps whole beside the hooks' own appends.
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.RetryNTimes;

public final class CuratorPeer {
  private final String id;
  private final String logPath;
  private boolean leading = false;  // guarded by this
  private boolean closing = false;  // guarded by this: once set, it never leads again

  private CuratorPeer(String id, String logPath) {
    this.id = id;
    this.logPath = logPath;
  }

  private void stamp(String event, String phase, String reason) {
    final String line = event + " " + phase + " " + System.nanoTime() + " " + id + " - " + reason
        + "\n";
    try (FileOutputStream out = new FileOutputStream(logPath, true)) {
      out.write(line.getBytes(StandardCharsets.US_ASCII));
    } catch (Exception e) {
      e.printStackTrace();
    }
  }

  synchronized void elected() {
    if (leading || closing) return;
    leading = true;
    stamp("start", "begin", "elected");
  }

  synchronized void stopped(String reason) {
    if (!leading) return;
    leading = false;
    stamp("stop", "end", reason);
  }

  synchronized void shuttingDown() {
    closing = true;
    stopped("shutdown");
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: CuratorPeer CONNECT PATH ID SESSION_MS LOG");
      System.exit(2);
    }
    final String connect = args[0];
    final String path = args[1];
    final CuratorPeer peer = new CuratorPeer(args[2], args[4]);
    final int sessionMs = Integer.parseInt(args[3]);
    final CuratorFramework client = CuratorFrameworkFactory.builder()
        .connectString(connect)
        .sessionTimeoutMs(sessionMs)
        .connectionTimeoutMs(15000)
        .retryPolicy(new RetryNTimes(1000, 100))
        .build();
    final LeaderLatch latch = new LeaderLatch(client, path, peer.id);
    latch.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader() {
        peer.elected();
      }

      @Override
      public void notLeader() {
        peer.stopped("notLeader");
      }
    });
    final CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      peer.shuttingDown();
      try {
        latch.close();
        client.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
      System.out.println("CuratorPeer " + peer.id + ": latch and session closed");
      done.countDown();
    }));
    client.start();
    latch.start();
    System.out.println("CuratorPeer " + peer.id + ": latch started on " + path);
    done.await();
  }
}
