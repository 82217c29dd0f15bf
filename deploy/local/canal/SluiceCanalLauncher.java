// Sluice local stack: runs a Canal 1.1.7 server for its destinations, in one of two modes
// (canal.serverMode): "kafka" publishes every destination to Kafka (one destination per character
// set of the source's text columns: Canal decodes all text of a destination with its
// connectionCharset); "tcp" serves the destinations to clients over Canal's TCP protocol
// (CanalServerWithNetty on canal.ip:canal.port, clients authenticated with canal.user/canal.passwd),
// the way `sluice relay` reads them.
//
// Canal's own entry point (canal.deployer: CanalLauncher / CanalStarter / CanalController) is not
// on Maven Central for 1.1.7, while the modules it drives are. This class does the part of their
// work the stack needs, with the 1.1.7 classes:
//   1. reads canal.properties (path given as the only argument);
//   2. kafka mode: loads the Kafka producer plugin by name (canal.serverMode) through Canal's
//      ExtensionLoader, from the classpath (META-INF/canal/...CanalMQProducer in connector.kafka),
//      and initialises it with the same properties (canal.mq.* and kafka.* keys);
//   3. starts CanalServerWithEmbedded with a SpringCanalInstanceGenerator for the destinations'
//      Spring XML (tcp mode: with the client user and password hash), then each destination
//      (binlog reader, store, meta manager);
//   4. kafka mode: starts CanalMQStarter for each destination (fetch a batch, send it, acknowledge
//      it); tcp mode: starts CanalServerWithNetty, which serves the destinations to clients;
//   5. on SIGTERM stops in order: no new batches (kafka: wait for the batch in flight to be sent
//      and acknowledged; tcp: close the client server), stop the instances (which write meta.dat),
//      then close the Kafka producer.
// Not started: the admin server, ZooKeeper registration, config scanning, and the metrics exporter
// (no 1.1.7 build of it on Maven Central); in kafka mode, the client TCP server.
//
// Compiled by deploy/local/components/canal.sh with javac against the 1.1.7 jars.

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import com.alibaba.otter.canal.connector.core.config.MQProperties;
import com.alibaba.otter.canal.connector.core.producer.MQDestination;
import com.alibaba.otter.canal.connector.core.spi.CanalMQProducer;
import com.alibaba.otter.canal.connector.core.spi.ExtensionLoader;
import com.alibaba.otter.canal.connector.core.util.Callback;
import com.alibaba.otter.canal.instance.spring.SpringCanalInstanceGenerator;
import com.alibaba.otter.canal.protocol.Message;
import com.alibaba.otter.canal.server.CanalMQStarter;
import com.alibaba.otter.canal.server.embedded.CanalServerWithEmbedded;
import com.alibaba.otter.canal.server.netty.CanalServerWithNetty;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.Marker;

public final class SluiceCanalLauncher {

    private static final Logger log = LoggerFactory.getLogger(SluiceCanalLauncher.class);

    /** How long a stop waits for the Kafka batch in flight before stopping anyway. */
    private static final long IN_FLIGHT_WAIT_SECONDS = 10;

    private SluiceCanalLauncher() {
    }

    public static void main(String[] args) {
        Thread.setDefaultUncaughtExceptionHandler(
            (thread, error) -> log.error("uncaught exception in thread {}", thread.getName(), error));
        if (args.length != 1) {
            System.err.println("usage: SluiceCanalLauncher <path of canal.properties>");
            System.exit(2);
        }
        try {
            run(args[0]);
        } catch (Throwable error) {
            log.error("## Canal could not start", error);
            // the shutdown hook, when already registered, stops whatever did start
            System.exit(1);
        }
    }

    private static void run(String confPath) throws Exception {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(Paths.get(confPath), StandardCharsets.UTF_8)) {
            props.load(reader);
        }
        List<String> destinations = new ArrayList<>();
        for (String name : required(props, "canal.destinations").split(",")) {
            if (!name.trim().isEmpty()) destinations.add(name.trim());
        }
        String mode = required(props, "canal.serverMode").toLowerCase(Locale.ROOT);
        String springXml = required(props, "canal.instance.global.spring.xml");
        log.info("## Canal 1.1.7 for destinations {} ({} mode, instance wiring {}), settings {}",
            destinations, mode, springXml, confPath);
        boolean tcp = "tcp".equals(mode);

        GuardedProducer producer = null;
        if (!tcp) {
            // The producer plugin, found by name on the classpath (no plugin folder: null, null).
            CanalMQProducer plugin = ExtensionLoader.getExtensionLoader(CanalMQProducer.class)
                .getExtension(mode, null, null);
            plugin.init(props);
            if (plugin.getMqProperties().isFlatMessage()) {
                // as CanalStarter does: flat messages are built from parsed entries, not raw bytes
                System.setProperty("canal.instance.memory.rawEntry", "false");
            }
            producer = new GuardedProducer(plugin);
        }

        CanalServerWithEmbedded server = CanalServerWithEmbedded.instance();
        SpringCanalInstanceGenerator generator = new SpringCanalInstanceGenerator();
        generator.setSpringXml(springXml);
        server.setCanalInstanceGenerator(generator);
        server.setMetricsPort(0); // no metrics provider: do not look for one
        if (tcp) {
            // as CanalController does: the embedded server checks a client's scrambled password
            // against canal.passwd (hex of SHA1(SHA1(password))); no user, no check
            server.setUser(optional(props, "canal.user"));
            server.setPasswd(optional(props, "canal.passwd"));
        }
        server.start();

        CanalMQStarter mqStarter = producer == null ? null : new CanalMQStarter(producer);
        CanalServerWithNetty netty = tcp ? CanalServerWithNetty.instance() : null;
        long fetchTimeout = producer == null || producer.getMqProperties().getFetchTimeout() == null
            ? 100 : producer.getMqProperties().getFetchTimeout();
        long settleMillis = Math.max(300L, 3L * fetchTimeout);
        GuardedProducer stopProducer = producer;
        Runtime.getRuntime().addShutdownHook(new Thread(
            () -> stop(destinations, server, mqStarter, netty, stopProducer, settleMillis), "sluice-canal-stop"));

        for (String destination : destinations) {
            MDC.put("destination", destination);
            try {
                server.start(destination); // builds the instance from the XML and starts the binlog reader
            } finally {
                MDC.remove("destination");
            }
        }
        if (netty != null) {
            String ip = optional(props, "canal.ip");
            int port = Integer.parseInt(required(props, "canal.port"));
            netty.setEmbeddedServer(server);
            if (!ip.isEmpty()) netty.setIp(ip);
            netty.setPort(port);
            netty.start();
            log.info("## Canal is running: destinations {} served on {}:{} (Canal's TCP protocol)",
                destinations, ip.isEmpty() ? "*" : ip, port);
        } else {
            // One call for all: CanalMQStarter.start takes the comma-separated list and starts one
            // worker per destination (a second call would be ignored).
            mqStarter.start(String.join(",", destinations));
            log.info("## Canal is running: destinations {} -> Kafka (flat messages: {})", destinations,
                producer.getMqProperties().isFlatMessage());
        }

        new CountDownLatch(1).await(); // the JVM ends on SIGTERM, through the shutdown hook
    }

    private static void stop(List<String> destinations, CanalServerWithEmbedded server,
                             CanalMQStarter mqStarter, CanalServerWithNetty netty,
                             GuardedProducer producer, long settleMillis) {
        log.info("## stopping Canal");
        if (netty != null) {
            try {
                netty.stop(); // closes the client connections: a batch got and not acknowledged is
                              // rolled back and served again after the restart
            } catch (Throwable error) {
                log.warn("stopping the client server failed", error);
            }
        }
        for (String destination : mqStarter == null ? List.<String>of() : destinations) {
            try {
                mqStarter.stopDestination(destination); // the worker ends after its current batch
            } catch (Throwable error) {
                log.warn("stopping the MQ worker of {} failed", destination, error);
            }
        }
        if (producer != null) producer.refuseFurtherBatches(IN_FLIGHT_WAIT_SECONDS);
        try {
            Thread.sleep(settleMillis); // lets a pending fetch return and the worker leave its loop
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
        for (String destination : destinations) {
            MDC.put("destination", destination);
            try {
                server.stop(destination); // stops the reader; the meta manager writes meta.dat
            } catch (Throwable error) {
                log.warn("stopping destination {} failed", destination, error);
            } finally {
                MDC.remove("destination");
            }
        }
        try {
            server.stop();
        } catch (Throwable error) {
            log.warn("stopping the embedded server failed", error);
        }
        if (producer != null) producer.close();
        log.info("## Canal stopped");
    }

    private static String optional(Properties props, String key) {
        String value = System.getProperty(key, props.getProperty(key));
        return value == null ? "" : value.trim();
    }

    private static String required(Properties props, String key) {
        String value = System.getProperty(key, props.getProperty(key));
        if (value == null || value.trim().isEmpty()) {
            throw new IllegalArgumentException(key + " is not set");
        }
        return value.trim();
    }

    /**
     * The Kafka producer as CanalMQStarter sees it. Sends go through one lock, so a stop can wait for
     * the batch in flight (sent and acknowledged) and then refuse later ones: a refused batch is
     * neither sent nor acknowledged, and the next start reads it again from the binlog. stop() is a
     * no-op because CanalMQStarter's own shutdown hook calls it while a batch may still be in flight;
     * the launcher closes the real producer last.
     */
    static final class GuardedProducer implements CanalMQProducer {

        private final CanalMQProducer target;
        private final ReentrantLock sending = new ReentrantLock();
        private volatile boolean refusing;

        GuardedProducer(CanalMQProducer target) {
            this.target = target;
        }

        @Override
        public void init(Properties properties) {
            target.init(properties);
        }

        @Override
        public MQProperties getMqProperties() {
            return target.getMqProperties();
        }

        @Override
        public void send(MQDestination destination, Message message, Callback callback) {
            sending.lock();
            try {
                if (refusing) {
                    log.info("stopping: batch {} is not sent; it is read again after the restart",
                        message.getId());
                    return;
                }
                target.send(destination, message, callback);
            } finally {
                sending.unlock();
            }
        }

        @Override
        public void stop() {
            // see the class comment
        }

        void refuseFurtherBatches(long waitSeconds) {
            boolean locked = false;
            try {
                locked = sending.tryLock(waitSeconds, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            refusing = true;
            if (locked) {
                sending.unlock();
            } else {
                log.warn("a Kafka batch was still in flight after {}s; stopping anyway (it is sent again"
                         + " after the restart)", waitSeconds);
            }
        }

        void close() {
            target.stop();
        }
    }

    /**
     * Drops Canal's "Register slave ..." log line, which carries the replication password
     * (MysqlConnection logs the whole register command at INFO). Named in logback.xml.
     */
    public static final class HideRegisterSlave extends TurboFilter {

        @Override
        public FilterReply decide(Marker marker, ch.qos.logback.classic.Logger logger, Level level, String format,
                                  Object[] params, Throwable error) {
            if (format != null && format.startsWith("Register slave")) {
                return FilterReply.DENY;
            }
            return FilterReply.NEUTRAL;
        }
    }
}
