package io.woslo.testing;

import io.etcd.jetcd.Client;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit 5 extension behind {@link WithEtcd}: one cluster per test class, one shared client per class, both closed
 * after the class, also when a test fails.
 */
public final class EtcdExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(EtcdExtension.class);
    private static final String CLUSTER = "cluster";
    private static final String CLIENT = "client";

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        int members = AnnotationSupport.findAnnotation(context.getRequiredTestClass(), WithEtcd.class)
                .map(WithEtcd::members)
                .orElse(1);
        EtcdCluster cluster = EtcdCluster.start(members, context.getRequiredTestClass().getSimpleName());
        context.getStore(NS).put(CLUSTER, cluster);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Client client = context.getStore(NS).remove(CLIENT, Client.class);
        if (client != null) {
            client.close();
        }
        EtcdCluster cluster = context.getStore(NS).remove(CLUSTER, EtcdCluster.class);
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == EtcdCluster.class || type == Client.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        EtcdCluster cluster = findCluster(context);
        if (parameter.getParameter().getType() == EtcdCluster.class) {
            return cluster;
        }
        ExtensionContext.Store store = classStore(context);
        return store.getOrComputeIfAbsent(CLIENT, key -> cluster.newClient(), Client.class);
    }

    private static EtcdCluster findCluster(ExtensionContext context) {
        EtcdCluster cluster = classStore(context).get(CLUSTER, EtcdCluster.class);
        if (cluster == null) {
            throw new ParameterResolutionException("no etcd cluster: annotate the test class with @WithEtcd");
        }
        return cluster;
    }

    private static ExtensionContext.Store classStore(ExtensionContext context) {
        ExtensionContext classContext = context;
        while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
            classContext = classContext.getParent().get();
        }
        return classContext.getStore(NS);
    }
}
