package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;

import io.leafgate.it.proto.Differential.Input;
import java.io.IOException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CONNECT as nats-server handles it: options, their defaults, protocol checks, and how strictly the
 * JSON is read (nats-server uses Go's encoding/json into a typed struct). Each case is sent to a
 * nats-server and to leafgate, and the replies and the connection's fate must be the same.
 */
class ConnectDifferentialTest extends DefaultPeersTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        // Options and defaults.
        arg("verbose on", of("CONNECT {\"verbose\":true}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\n")),
        arg("verbose off", of("CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\n")),
        arg("empty object keeps the defaults (verbose on)", of("CONNECT {}\r\n")),
        arg("ops before any CONNECT use the defaults", of("SUB foo 1\r\nPUB foo 2\r\nhi\r\n")),
        arg("lower-case connect, tab separator", of("connect\t{\"verbose\":false}\r\n")),
        arg("LF-only line end", of("CONNECT {\"verbose\":false}\n")),
        arg("no space before the JSON", of("CONNECT{\"verbose\":false}\r\n")),
        arg("pedantic: wildcard publish is flagged and still delivered",
            of("CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\n")),
        arg("pedantic with verbose", of("CONNECT {\"verbose\":true,\"pedantic\":true}\r\nPUB foo.> 0\r\n\r\n")),
        arg("pedantic off: no complaint",
            of("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\n")),
        arg("echo on by default", of("CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\n")),
        arg("echo off hides own messages",
            of("CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\n")),
        arg("a second CONNECT updates only what it names",
            of("CONNECT {\"verbose\":false}\r\nCONNECT {\"echo\":false}\r\nSUB a 1\r\nPUB a 0\r\n\r\n")),
        arg("headers on: HPUB is accepted",
            of("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        arg("headers off: HPUB closes silently",
            of("CONNECT {\"verbose\":false}\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        arg("no_responders without headers",
            of("CONNECT {\"verbose\":false,\"no_responders\":true}\r\n")),
        arg("no_responders with headers: a request to no one gets a 503",
            of("CONNECT {\"verbose\":false,\"no_responders\":true,\"headers\":true}\r\n"
                + "SUB _INBOX.> 1\r\nPUB nobody _INBOX.x 2\r\nhi\r\n")),
        arg("protocol 0 and 1 are fine", of("CONNECT {\"verbose\":false,\"protocol\":0}\r\nCONNECT {\"protocol\":1}\r\n")),
        arg("protocol 2", of("CONNECT {\"verbose\":false,\"protocol\":2}\r\n")),
        arg("protocol -1", of("CONNECT {\"verbose\":false,\"protocol\":-1}\r\n")),
        arg("client identity fields",
            of("CONNECT {\"verbose\":false,\"name\":\"n\",\"lang\":\"java\",\"version\":\"2.0\",\"tls_required\":false}\r\n")),
        arg("unknown fields are ignored", of("CONNECT {\"verbose\":false,\"foo\":[1,{\"a\":null}],\"bar\":1e400}\r\n")),
        arg("keys match case-insensitively", of("CONNECT {\"VERBOSE\":false,\"Echo\":false}\r\nSUB a 1\r\nPUB a 0\r\n\r\n")),
        arg("a duplicate key: the last one wins", of("CONNECT {\"verbose\":false,\"verbose\":true}\r\n")),
        arg("null values leave the option as it was", of("CONNECT {\"verbose\":null,\"name\":null,\"protocol\":null}\r\n")),
        arg("JSON null as the whole body", of("CONNECT null\r\n")),
        // Refused CONNECTs.
        arg("bad JSON", of("CONNECT {bad json\r\n")),
        arg("empty body", of("CONNECT \r\n")),
        arg("no body at all", of("CONNECT\r\n")),
        arg("letters glued to the name", of("CONNECTX {}\r\n")),
        arg("array body", of("CONNECT []\r\n")),
        arg("string body", of("CONNECT \"verbose\"\r\n")),
        arg("trailing data after the object", of("CONNECT {\"verbose\":false} x\r\n")),
        arg("two objects", of("CONNECT {\"verbose\":false}{}\r\n")),
        arg("a boolean given as a string", of("CONNECT {\"verbose\":\"no\"}\r\n")),
        arg("a boolean given as a number", of("CONNECT {\"echo\":0}\r\n")),
        arg("protocol given as a string", of("CONNECT {\"protocol\":\"1\"}\r\n")),
        arg("protocol with a fraction", of("CONNECT {\"verbose\":false,\"protocol\":1.5}\r\n")),
        arg("protocol with an exponent", of("CONNECT {\"verbose\":false,\"protocol\":1e0}\r\n")),
        arg("name given as a number", of("CONNECT {\"verbose\":false,\"name\":5}\r\n")),
        arg("an account name is refused", of("CONNECT {\"verbose\":false,\"account\":\"x\"}\r\n")),
        arg("new_account is refused", of("CONNECT {\"verbose\":false,\"new_account\":true}\r\n")),
        arg("an empty account name is fine", of("CONNECT {\"verbose\":false,\"account\":\"\",\"new_account\":false}\r\n")));
  }

  private static Arguments arg(String name, Input input) {
    return Arguments.of(name, input);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void answersLikeNatsServer(String name, Input input) throws IOException {
    Differential.assertSame(peers, input);
  }
}
