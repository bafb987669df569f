package io.leafgate.it.clients;

import static io.leafgate.it.clients.Jnats.WAIT;
import static io.leafgate.it.clients.Jnats.connect;
import static io.leafgate.it.clients.Jnats.roundTrip;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamStatusException;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Request/reply with jnats: answered requests, headers on both legs, and no responders. */
class JnatsRequestReplyTest {
  private TestGateway gw;

  @BeforeEach
  void start(@TempDir Path tmp) throws Exception {
    gw = TestGateway.start(tmp);
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  @Test
  void requestsAreAnsweredByADispatcherResponder() throws Exception {
    try (Connection service = connect(gw.url()); Connection client = connect(gw.url())) {
      Dispatcher d = service.createDispatcher(m ->
          service.publish(m.getReplyTo(), new String(m.getData(), UTF_8).toUpperCase(Locale.ROOT).getBytes(UTF_8)));
      d.subscribe("svc.upper");
      roundTrip(service);
      for (int i = 0; i < 20; i++) {
        Message reply = client.request("svc.upper", ("hello " + i).getBytes(UTF_8), WAIT);
        assertNotNull(reply, "request " + i + " got no reply");
        assertEquals("HELLO " + i, new String(reply.getData(), UTF_8));
      }
      // Many requests in flight at once share the client's one reply subscription.
      List<CompletableFuture<Message>> futures = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        futures.add(client.request("svc.upper", ("async " + i).getBytes(UTF_8)));
      }
      for (int i = 0; i < futures.size(); i++) {
        Message reply = futures.get(i).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertEquals("ASYNC " + i, new String(reply.getData(), UTF_8));
      }
    }
  }

  @Test
  void headersTravelWithTheRequestAndTheReply() throws Exception {
    try (Connection service = connect(gw.url()); Connection client = connect(gw.url())) {
      Dispatcher d = service.createDispatcher(m -> {
        String asked = m.hasHeaders() ? m.getHeaders().getFirst("X-Ask") : "no headers";
        service.publish(NatsMessage.builder().subject(m.getReplyTo())
            .headers(new Headers().add("X-Answer", "re: " + asked)).data(m.getData()).build());
      });
      d.subscribe("svc.headers");
      roundTrip(service);
      Message reply = client.request(NatsMessage.builder().subject("svc.headers")
          .headers(new Headers().add("X-Ask", "42")).data("q".getBytes(UTF_8)).build(), WAIT);
      assertNotNull(reply, "no reply");
      assertEquals("re: 42", reply.getHeaders().getFirst("X-Answer"));
      assertEquals("q", new String(reply.getData(), UTF_8));
    }
  }

  @Test
  void requestToNobodyFailsFastWithNoResponders() throws Exception {
    try (Connection client = connect(Jnats.options(gw.url()).reportNoResponders())) {
      long t0 = System.nanoTime();
      CompletableFuture<Message> f = client.requestWithTimeout("svc.nobody", "anyone?".getBytes(UTF_8),
          Duration.ofSeconds(20));
      ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS),
          "a request without responders must fail");
      long tookMillis = (System.nanoTime() - t0) / 1_000_000;
      JetStreamStatusException status = assertInstanceOf(JetStreamStatusException.class, e.getCause());
      assertEquals(503, status.getStatus().getCode(), "status of " + status.getStatus());
      assertTrue(status.getStatus().isNoResponders(), "not a no-responders status: " + status.getStatus());
      assertTrue(tookMillis < 5000, "no responders took " + tookMillis + " ms, like a timeout");
    }
  }

  @Test
  void requestToNobodyReturnsAtOnceWithDefaultOptions() throws Exception {
    try (Connection client = connect(gw.url())) {
      long t0 = System.nanoTime();
      Message reply = client.request("svc.nobody", "anyone?".getBytes(UTF_8), Duration.ofSeconds(20));
      long tookMillis = (System.nanoTime() - t0) / 1_000_000;
      assertNull(reply);
      assertTrue(tookMillis < 5000, "no responders took " + tookMillis + " ms; the request waited for its timeout");
    }
  }
}
