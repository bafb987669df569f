package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leafgate.it.proto.Differential.Input;
import io.leafgate.it.proto.Differential.Transcript;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Where leafgate deliberately answers differently from nats-server 2.9.10. Each test pins both
 * behaviours: nats-server's, so that a change there is noticed, and leafgate's, with the reason it
 * does not copy nats-server.
 */
class KnownDifferencesTest extends DefaultPeersTest {
  private static final String QUIET = "CONNECT {\"verbose\":false}\r\n";
  private static final String INFO = "INFO {server_id:string, version:string, client_id:number, client_ip:string,"
      + " proto=1, headers=true, max_payload=1048576, auth_required=absent}";


  private static void assertTranscripts(Input in, String nats, String leaf) throws IOException {
    Transcript n = Differential.run(peers.nats.port(), in);
    assertEquals(nats, n.describe(), () -> peers.nats.withLog("nats-server changed its answer to " + in));
    assertEquals(leaf, Differential.run(peers.leaf.natsPort(), in).describe(), () -> "leafgate's answer to " + in);
  }

  /**
   * nats-server writes the size of a MSG as the publisher spelled it ({@code PUB foo 002} is
   * delivered as {@code MSG foo 1 002}), because it copies the size bytes. Clients parse a number
   * either way; leafgate writes the number, so nothing a publisher sends is echoed verbatim into
   * other clients' control lines.
   */
  @Test
  void sizesWithLeadingZerosAreWrittenAsNumbers() throws IOException {
    Input in = of(QUIET + "SUB foo 1\r\nPUB foo 002\r\nhi\r\n");
    assertTranscripts(in,
        INFO + "\nMSG foo 1 002 | \"hi\"\nPONG\n[OPEN]",
        INFO + "\nMSG foo 1 2 | \"hi\"\nPONG\n[OPEN]");
  }

  /**
   * nats-server's parser lets a client send HMSG (it shares the route and leafnode states): with
   * no arguments of its own it reads an empty message and publishes it to an empty subject (a
   * pedantic client even gets +OK for it), and with a real payload it fails on the payload. That is
   * an accident of the parser, not protocol; leafgate refuses HMSG from a client at once with
   * 'Unknown Protocol Operation', as nats-server does for MSG.
   */
  @Test
  void hmsgFromAClientIsRefused() throws IOException {
    Input in = of("HMSG x\r\n\r\n");
    assertTranscripts(in,
        INFO + "\n+OK\nPONG\n[OPEN]",
        INFO + "\n-ERR 'Unknown Protocol Operation'\n[CLOSED]");
  }

  /**
   * nats-server decodes a client's INFO into its full Info struct, so a field of the wrong type
   * closes the connection. Clients do not send INFO; leafgate checks only that the body is a JSON
   * object and otherwise ignores it, without a copy of nats-server's Info field types.
   */
  @Test
  void clientInfoFieldTypesAreNotChecked() throws IOException {
    Input in = of(QUIET + "INFO {\"port\":\"x\"}\r\n");
    assertTranscripts(in,
        INFO + "\n[CLOSED]",
        INFO + "\nPONG\n[OPEN]");
  }

  /**
   * When subscriptions on different nodes of the subject trie match, nats-server delivers in the
   * order its trie walk finds them (at the last token: the literal node before the '*' node), and
   * in random Go map order within a node. The order across subscriptions is not part of the
   * protocol (each subscription still sees its own messages in order); leafgate's trie walks '*'
   * first. Both deliver exactly one copy to each matching subscription.
   */
  @Test
  void fanOutOrderAcrossTrieNodesDiffers() throws IOException {
    Input in = of(QUIET + "SUB foo.> 1\r\nSUB *.bar 2\r\nSUB foo.bar 3\r\nSUB *.* 4\r\nPUB foo.bar 1\r\nx\r\n");
    Transcript nats = Differential.run(peers.nats.port(), in);
    Transcript leaf = Differential.run(peers.leaf.natsPort(), in);
    assertEquals(List.of(INFO, "MSG foo.bar 2 1 | \"x\"", "MSG foo.bar 4 1 | \"x\"", "MSG foo.bar 1 1 | \"x\"",
        "MSG foo.bar 3 1 | \"x\"", "PONG"), nats.frames(), () -> peers.nats.withLog("nats-server's order changed"));
    assertEquals(nats.frames().stream().sorted().toList(), leaf.frames().stream().sorted().toList());
    assertEquals(nats.ending(), leaf.ending());
  }
}
