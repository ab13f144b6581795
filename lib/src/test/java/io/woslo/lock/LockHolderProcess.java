package io.woslo.lock;

import io.etcd.jetcd.Client;
import java.io.IOException;
import java.time.Duration;

/**
 * The main class of the separate JVM in {@link CrashedHolderIT}: takes a write lock, prints {@code LOCKED <token>}
 * and holds it without ever unlocking, until it is killed (or its standard input closes, so that it never outlives
 * the test JVM).
 *
 * <p>Arguments: etcd endpoints (comma-separated), namespace, lock key, owner id, lease time in milliseconds.
 */
public final class LockHolderProcess {
    static final String LOCKED = "LOCKED ";

    private LockHolderProcess() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 5) {
            System.err.println("usage: LockHolderProcess <endpoints> <namespace> <key> <ownerId> <leaseMillis>");
            System.exit(2);
        }
        Client client = Client.builder().endpoints(args[0].split(",")).build();
        RwLocks locks = RwLocks.builder(client).namespace(args[1]).build();
        DistributedLock lock = locks.writeLock(args[2], Long.parseLong(args[3]),
                Duration.ofMillis(Long.parseLong(args[4])));
        lock.lock();
        System.out.println(LOCKED + lock.fencingToken());
        System.out.flush();
        while (System.in.read() != -1) {
            // hold the lock; the parent ends this process with SIGKILL
        }
        System.exit(0);
    }
}
