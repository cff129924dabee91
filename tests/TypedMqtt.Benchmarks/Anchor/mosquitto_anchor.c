/*
 * The C anchor of the E2E benchmark: one libmosquitto publisher and one libmosquitto subscriber in one process, as a
 * C user writes them (each client with its own network thread, mosquitto_loop_start), over MQTT 5 with clean start.
 * The publisher sends N copies of the same payload to the same topic as the .NET variants, one at a time or keeping
 * up to WINDOW QoS 1 publishes unacknowledged; the subscriber only counts.
 *
 * Protocol with the harness (stdin/stdout, one line each):
 *   anchor prints "ready" once both clients are connected and the subscription is acknowledged,
 *   the harness writes "go", the anchor runs and prints
 *   "result <sent> <received> <seconds> <cpu-seconds>" (wall time from the first publish to the last message received,
 *   CPU time of this process over the same span), then exits.
 *
 * usage: mosquitto_anchor <port> <qos 0|1> <window> <messages> <topic> <payload> [<rate>]
 *
 * With <rate> the anchor measures latency instead, from each publish call to the subscriber's callback for that
 * message: <rate> messages a second, sent in 1 ms steps (paced), or 0 for one at a time (the next publish when the last
 * message arrived). It prints "latency <sent> <received> <p50-us> <p99-us> <p99.9-us>".
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int connected, subscribed, outstanding, received, expected;
static struct timespec last_received;
static double *sent_at, *latencies; /* latency mode: per message, in seconds */

static double seconds(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq; (void)obj;
    pthread_mutex_lock(&lock);
    connected += rc == 0 ? 1 : 100;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted)
{
    (void)mosq; (void)obj; (void)mid; (void)count; (void)granted;
    pthread_mutex_lock(&lock);
    subscribed = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq; (void)obj; (void)mid;
    pthread_mutex_lock(&lock);
    outstanding--;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *message)
{
    (void)mosq; (void)obj; (void)message;
    pthread_mutex_lock(&lock);
    last_received = now();
    if (latencies != NULL && received < expected)
    {
        latencies[received] = seconds(last_received) - sent_at[received];
        pthread_cond_broadcast(&changed);
    }
    received++;
    if (received == expected)
    {
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
}

static struct mosquitto *client(const char *id, int port, int subscriber)
{
    struct mosquitto *mosq = mosquitto_new(id, true, NULL);
    if (mosq == NULL)
    {
        fprintf(stderr, "mosquitto_new failed\n");
        exit(2);
    }

    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1); /* as the .NET clients: no Nagle delay on small packets */
    mosquitto_max_inflight_messages_set(mosq, 0); /* the harness's window decides, not the library's default of 20 */
    mosquitto_connect_callback_set(mosq, on_connect);
    if (subscriber)
    {
        mosquitto_subscribe_callback_set(mosq, on_subscribe);
        mosquitto_message_callback_set(mosq, on_message);
    }
    else
    {
        mosquitto_publish_callback_set(mosq, on_publish);
    }

    if (mosquitto_connect(mosq, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS || mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS)
    {
        fprintf(stderr, "connect to 127.0.0.1:%d failed\n", port);
        exit(2);
    }

    return mosq;
}

/* Waits on the condition until pred() holds or the deadline (seconds from now) passes; the lock is held. */
static int wait_until(int (*pred)(void), double limit)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)limit;
    while (!pred())
    {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0 && !pred())
        {
            return 0;
        }
    }

    return 1;
}

static int both_connected(void) { return connected == 2; }
static int is_subscribed(void) { return subscribed; }
static int window;
static int window_open(void) { return outstanding < window; }
static int all_acknowledged(void) { return outstanding == 0; }
static int all_received(void) { return received >= expected; }

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *sorted, int count, double p) { return sorted[(int)(p * (count - 1) + 0.5)] * 1e6; }

static int message_arrived_target;
static int arrived(void) { return received >= message_arrived_target; }

static int measure_latency(struct mosquitto *pub, int qos, int messages, const char *topic, const char *payload, int length, int rate)
{
    sent_at = calloc((size_t)messages, sizeof(double));
    latencies = calloc((size_t)messages, sizeof(double));
    double start = seconds(now());
    for (int i = 0; i < messages; i++)
    {
        if (rate > 0)
        {
            /* Paced: what is due by now goes out; then sleep 1 ms. */
            while ((seconds(now()) - start) * rate < i)
            {
                struct timespec step = { 0, 1000000 };
                nanosleep(&step, NULL);
            }
        }

        pthread_mutex_lock(&lock);
        sent_at[i] = seconds(now());
        pthread_mutex_unlock(&lock);
        if (mosquitto_publish(pub, NULL, topic, length, payload, qos, false) != MOSQ_ERR_SUCCESS)
        {
            fprintf(stderr, "publish %d failed\n", i);
            return 2;
        }

        if (rate == 0)
        {
            pthread_mutex_lock(&lock);
            message_arrived_target = i + 1;
            wait_until(arrived, 10);
            pthread_mutex_unlock(&lock);
        }
    }

    pthread_mutex_lock(&lock);
    message_arrived_target = messages;
    wait_until(arrived, 10);
    int got = received < messages ? received : messages;
    pthread_mutex_unlock(&lock);
    qsort(latencies, (size_t)got, sizeof(double), compare);
    printf("latency %d %d %.1f %.1f %.1f\n", messages, got, percentile(latencies, got, 0.50), percentile(latencies, got, 0.99), percentile(latencies, got, 0.999));
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8)
    {
        fprintf(stderr, "usage: %s <port> <qos 0|1> <window> <messages> <topic> <payload> [<rate>]\n", argv[0]);
        return 2;
    }

    int port = atoi(argv[1]), qos = atoi(argv[2]), messages = atoi(argv[4]);
    const char *topic = argv[5], *payload = argv[6];
    int length = (int)strlen(payload);
    window = atoi(argv[3]);
    expected = messages;
    char filter[256];
    snprintf(filter, sizeof filter, "%s", topic);
    char *second = strchr(filter, '/');
    char *third = second ? strchr(second + 1, '/') : NULL;
    if (second && third)
    {
        /* bench/<device>/reading -> bench/+/reading, as the .NET subscribers subscribe */
        memmove(second + 2, third, strlen(third) + 1);
        second[1] = '+';
    }

    mosquitto_lib_init();
    char id[64];
    snprintf(id, sizeof id, "c-sub-%d", (int)getpid());
    struct mosquitto *sub = client(id, port, 1);
    snprintf(id, sizeof id, "c-pub-%d", (int)getpid());
    struct mosquitto *pub = client(id, port, 0);

    pthread_mutex_lock(&lock);
    if (!wait_until(both_connected, 10))
    {
        fprintf(stderr, "not connected\n");
        return 2;
    }
    pthread_mutex_unlock(&lock);

    mosquitto_subscribe(sub, NULL, filter, qos);
    pthread_mutex_lock(&lock);
    if (!wait_until(is_subscribed, 10))
    {
        fprintf(stderr, "not subscribed\n");
        return 2;
    }
    pthread_mutex_unlock(&lock);

    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL)
    {
        return 2;
    }

    if (argc == 8)
    {
        return measure_latency(pub, qos, messages, topic, payload, length, atoi(argv[7]));
    }

    double cpu_start = cpu_seconds();
    struct timespec start = now();
    pthread_mutex_lock(&lock);
    last_received = start;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < messages; i++)
    {
        if (qos > 0)
        {
            pthread_mutex_lock(&lock);
            wait_until(window_open, 30);
            outstanding++;
            pthread_mutex_unlock(&lock);
        }

        if (mosquitto_publish(pub, NULL, topic, length, payload, qos, false) != MOSQ_ERR_SUCCESS)
        {
            fprintf(stderr, "publish %d failed\n", i);
            return 2;
        }
    }

    pthread_mutex_lock(&lock);
    if (qos > 0)
    {
        wait_until(all_acknowledged, 30);
    }

    /* The last message, or a stall of 2 s (a lost QoS 0 message). */
    int seen = -1;
    while (!all_received())
    {
        if (received == seen && seconds(now()) - seconds(last_received) > 2)
        {
            break;
        }

        seen = received;
        wait_until(all_received, 1);
    }

    double elapsed = seconds(last_received) - seconds(start);
    int got = received;
    pthread_mutex_unlock(&lock);
    double cpu = cpu_seconds() - cpu_start;
    printf("result %d %d %.6f %.6f\n", messages, got, elapsed, cpu);
    fflush(stdout);

    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    return 0;
}
