// A Curator LeaderLatch participant for bench/failover.
//
//   java -cp <Debian jars>:. CuratorParticipant CONNECT PATH ID SESSION_MS STAMP_FILE
//
// When the latch elects this participant, isLeader() appends
// "start <System.nanoTime()>" to STAMP_FILE (CLOCK_MONOTONIC on Linux, the
// clock of every other participant). SIGTERM runs the shutdown hook: the latch
// is closed (its node deleted) and the session closed, Curator's graceful exit.
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.RetryNTimes;

public final class CuratorParticipant {
  private static void stamp(String file, String label, long ns) {
    try (FileOutputStream out = new FileOutputStream(file, true)) {
      out.write((label + " " + ns + "\n").getBytes(StandardCharsets.US_ASCII));
    } catch (Exception e) {
      e.printStackTrace();
    }
  }

  public static void main(String[] args) throws Exception {
    final String connect = args[0];
    final String path = args[1];
    final String id = args[2];
    final int sessionMs = Integer.parseInt(args[3]);
    final String stampFile = args[4];
    final CuratorFramework client = CuratorFrameworkFactory.builder()
        .connectString(connect)
        .sessionTimeoutMs(sessionMs)
        .connectionTimeoutMs(sessionMs)
        .retryPolicy(new RetryNTimes(1000, 100))
        .build();
    final LeaderLatch latch = new LeaderLatch(client, path, id);
    latch.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader() {
        stamp(stampFile, "start", System.nanoTime());
      }

      @Override
      public void notLeader() {
        stamp(stampFile, "stop", System.nanoTime());
      }
    });
    final CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        latch.close();
        client.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
      done.countDown();
    }));
    client.start();
    latch.start();
    stamp(stampFile, "joined", System.nanoTime());
    done.await();
  }
}
