package io.woslo.fault;

import io.etcd.jetcd.Client;
import io.woslo.quota.MutableHandler;
import io.woslo.quota.QuotaManager;
import io.woslo.quota.Reservation;
import io.woslo.quota.UsedQuotaHandler;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The main class of a client JVM that is killed while it holds an account lock, in {@link ClientCrashIT} and the
 * soak. It builds a {@link QuotaManager} like the tests' (same figures, a short lock lease) and then either
 *
 * <ul>
 *   <li>{@code reserve}: reserves {@code CPU=<amount>}, prints {@code RESERVED <amount>} and holds the reservation
 *       (so the account's read lock) without closing it, or
 *   <li>{@code refresh}: starts a forced refresh whose handler never answers, so the refresh holds the account's
 *       write lock; the handler prints {@code WRITE_LOCKED} when it is called.
 * </ul>
 *
 * It waits until it is killed (or its standard input closes, so that it never outlives the test JVM).
 *
 * <p>Arguments: etcd endpoints (comma-separated), namespace, account, mode, amount, lock lease in milliseconds.
 */
public final class QuotaHolderProcess {
    static final String RESERVED = "RESERVED ";
    static final String WRITE_LOCKED = "WRITE_LOCKED";

    private QuotaHolderProcess() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 6) {
            System.err.println("usage: QuotaHolderProcess <endpoints> <namespace> <account> reserve|refresh <amount>"
                    + " <leaseMillis>");
            System.exit(2);
        }
        String account = args[2];
        Duration lease = Duration.ofMillis(Long.parseLong(args[5]));
        Client client = Client.builder().endpoints(args[0].split(",")).build();
        if (args[3].equals("reserve")) {
            QuotaManager quota = QuotaStorm.manager(client, args[1], lease);
            long amount = Long.parseLong(args[4]);
            Reservation reservation = quota.prepareOccupying(account, Map.of("CPU", amount));
            System.out.println(RESERVED + reservation.amounts().get("CPU"));
        } else {
            QuotaManager quota = QuotaStorm.manager(client, args[1], lease, Duration.ofMinutes(5), new NeverAnswers());
            quota.refreshAsync(account, true);
        }
        System.out.flush();
        while (System.in.read() != -1) {
            // hold the lock; the parent ends this process with SIGKILL
        }
        System.exit(0);
    }

    /** A handler that announces it was called (under the refresh's write lock) and then never answers. */
    private static final class NeverAnswers implements UsedQuotaHandler {
        private final UsedQuotaHandler figures = new MutableHandler(QuotaStorm.START_USED, QuotaStorm.QUOTA);

        @Override
        public long queryUsed(String account) throws Exception {
            System.out.println(WRITE_LOCKED);
            System.out.flush();
            new CountDownLatch(1).await(); // never answers: the process is killed while waiting here
            return figures.queryUsed(account);
        }

        @Override
        public long queryQuota(String account) throws Exception {
            return figures.queryQuota(account);
        }
    }
}
