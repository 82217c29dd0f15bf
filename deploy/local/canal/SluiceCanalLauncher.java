// Sluice local stack: runs a Canal 1.1.7 server in Kafka mode for its destinations (one per
// character set of the source's text columns: Canal decodes all text of a destination with its
// connectionCharset).
//
// Canal's own entry point (canal.deployer: CanalLauncher / CanalStarter / CanalController) is not
// on Maven Central for 1.1.7, while the modules it drives are. This class does the part of their
// work the stack needs, with the 1.1.7 classes:
//   1. reads canal.properties (path given as the only argument);
//   2. loads the Kafka producer plugin by name (canal.serverMode) through Canal's ExtensionLoader,
//      from the classpath (META-INF/canal/...CanalMQProducer in connector.kafka), and initialises
//      it with the same properties (canal.mq.* and kafka.* keys);
//   3. starts CanalServerWithEmbedded with a SpringCanalInstanceGenerator for the destinations'
//      Spring XML, then each destination (binlog reader, store, meta manager);
//   4. starts CanalMQStarter for each destination (fetch a batch, send it, acknowledge it);
//   5. on SIGTERM stops in order: no new batches, wait for the batch in flight to be sent and
//      acknowledged, stop the instance (which writes meta.dat), then close the Kafka producer.
// Not started: the client TCP server (canal.port), the admin server, ZooKeeper registration,
// config scanning, and the metrics exporter (no 1.1.7 build of it on Maven Central).
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
        log.info("## Canal 1.1.7 for destinations {} ({} producer, instance wiring {}), settings {}",
            destinations, mode, springXml, confPath);

        // The producer plugin, found by name on the classpath (no plugin folder: null, null).
        CanalMQProducer plugin = ExtensionLoader.getExtensionLoader(CanalMQProducer.class)
            .getExtension(mode, null, null);
        plugin.init(props);
        MQProperties mq = plugin.getMqProperties();
        if (mq.isFlatMessage()) {
            // as CanalStarter does: flat messages are built from parsed entries, not raw bytes
            System.setProperty("canal.instance.memory.rawEntry", "false");
        }
        GuardedProducer producer = new GuardedProducer(plugin);

        CanalServerWithEmbedded server = CanalServerWithEmbedded.instance();
        SpringCanalInstanceGenerator generator = new SpringCanalInstanceGenerator();
        generator.setSpringXml(springXml);
        server.setCanalInstanceGenerator(generator);
        server.setMetricsPort(0); // no metrics provider: do not look for one
        server.start();

        CanalMQStarter mqStarter = new CanalMQStarter(producer);
        long settleMillis = Math.max(300L, 3L * (mq.getFetchTimeout() == null ? 100 : mq.getFetchTimeout()));
        Runtime.getRuntime().addShutdownHook(new Thread(
            () -> stop(destinations, server, mqStarter, producer, settleMillis), "sluice-canal-stop"));

        for (String destination : destinations) {
            MDC.put("destination", destination);
            try {
                server.start(destination); // builds the instance from the XML and starts the binlog reader
            } finally {
                MDC.remove("destination");
            }
        }
        // One call for all: CanalMQStarter.start takes the comma-separated list and starts one
        // worker per destination (a second call would be ignored).
        mqStarter.start(String.join(",", destinations));
        log.info("## Canal is running: destinations {} -> Kafka (flat messages: {})", destinations,
            mq.isFlatMessage());

        new CountDownLatch(1).await(); // the JVM ends on SIGTERM, through the shutdown hook
    }

    private static void stop(List<String> destinations, CanalServerWithEmbedded server,
                             CanalMQStarter mqStarter, GuardedProducer producer, long settleMillis) {
        log.info("## stopping Canal");
        for (String destination : destinations) {
            try {
                mqStarter.stopDestination(destination); // the worker ends after its current batch
            } catch (Throwable error) {
                log.warn("stopping the MQ worker of {} failed", destination, error);
            }
        }
        producer.refuseFurtherBatches(IN_FLIGHT_WAIT_SECONDS);
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
        producer.close();
        log.info("## Canal stopped");
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
