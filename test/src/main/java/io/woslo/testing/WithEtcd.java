package io.woslo.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Starts a real etcd cluster for the annotated test class and stops it after the last test.
 *
 * <p>Tests receive the {@link EtcdCluster} (and, if they ask for it, a jetcd {@code Client} that the extension
 * closes) as parameters of their constructor, lifecycle methods or test methods:
 *
 * <pre>{@code
 * @WithEtcd(members = 3)
 * class FailoverIT {
 *     @Test
 *     void writeSurvivesLeaderLoss(EtcdCluster etcd, Client client) { ... }
 * }
 * }</pre>
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(EtcdExtension.class)
public @interface WithEtcd {
    /** Number of members: 1 or 3. */
    int members() default 1;
}
