package io.leafgate.it.proto;

import static io.leafgate.it.proto.Differential.Input.of;

import io.leafgate.it.proto.Differential.Input;
import java.io.IOException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed input: unknown operations, garbage, bad arguments and sizes, payloads that do not end
 * where they said, bad subjects. nats-server answers some with {@code -ERR} and a close, some with a
 * silent close, and some with an {@code -ERR} while keeping the connection; leafgate must do the
 * same.
 */
class MalformedInputDifferentialTest extends DefaultPeersTest {
  private static final String QUIET = "CONNECT {\"verbose\":false}\r\n";
  private static final String VERBOSE = "CONNECT {\"verbose\":true}\r\n";


  static Stream<Arguments> cases() {
    return Stream.of(
        // Unknown operations and garbage.
        arg("unknown verb", of(QUIET + "FOO\r\n")),
        arg("unknown verb before CONNECT", of("FOO bar\r\n")),
        arg("garbage bytes", of(QUIET + "\u0000\u0001\u0002garbage\r\n")),
        arg("high bytes", of("\u00ff\u00fe\r\n")),
        arg("an empty line", of(QUIET + "\r\n")),
        arg("a leading space", of(QUIET + " PING\r\n")),
        arg("a verb with letters glued on", of(QUIET + "PUBX foo 1\r\nx\r\n")),
        arg("a verb glued to its argument", of(QUIET + "SUBfoo 1\r\n")),
        arg("UNSUB glued", of(QUIET + "UNSUBX 1\r\n")),
        arg("a verb cut short", of(QUIET + "PU\r\n")),
        arg("MSG is not a client op", of(QUIET + "MSG foo 1 2\r\nhi\r\n")),
        arg("HMSG is not a client op (with a payload)", of(QUIET + "HMSG foo 1 2 2\r\nhi\r\n")),
        arg("route and leaf ops are refused", of(QUIET + "RS+ foo\r\n")),
        arg("LS+ is refused", of(QUIET + "LS+ foo\r\n")),
        arg("A+ is refused", of(QUIET + "A+ foo\r\n")),
        arg("-ERR without text", of(QUIET + "-ERR\r\n")),
        arg("+OK with trailing text is ignored", of(QUIET + "+OK whatever\r\n")),
        arg("+OX", of(QUIET + "+OX\r\n")),
        arg("the error comes after earlier replies", of(VERBOSE + "SUB foo 1\r\nPUB foo 1\r\nx\r\nBAD\r\n")),
        arg("nothing after the error is processed", of(QUIET + "SUB foo 1\r\nBAD\r\nPUB foo 1\r\nx\r\n")),
        // INFO from a client: ignored when it decodes, a silent close when it does not.
        arg("INFO with an object", of(QUIET + "INFO {\"server_id\":\"x\"}\r\n")),
        arg("INFO glued to its object", of(QUIET + "INFO{}\r\n")),
        arg("INFO with null", of(QUIET + "INFO null\r\n")),
        arg("INFO alone", of(QUIET + "INFO\r\n")),
        arg("INFO with bad JSON", of(QUIET + "INFO {bad\r\n")),
        arg("INFO with an array", of(QUIET + "INFO []\r\n")),
        arg("INFO with data after the object", of(QUIET + "INFO {} x\r\n")),
        arg("replies queued before a bad INFO are sent", of(VERBOSE + "SUB foo 1\r\nINFO {bad\r\n")),
        arg("replies queued before a bad CONNECT are sent", of(VERBOSE + "SUB foo 1\r\nCONNECT {bad\r\n")),
        arg("replies queued before a client -ERR are sent", of(VERBOSE + "SUB foo 1\r\n-ERR 'x'\r\n")),
        // PUB arguments.
        arg("PUB alone", of(QUIET + "PUB\r\n")),
        arg("PUB and a space", of(QUIET + "PUB \r\n")),
        arg("PUB without a size", of(QUIET + "PUB foo\r\n")),
        arg("PUB with a negative size", of(QUIET + "PUB foo -1\r\n")),
        arg("PUB with a size that is not a number", of(QUIET + "PUB foo abc\r\n")),
        arg("PUB with a plus sign", of(QUIET + "PUB foo +1\r\nx\r\n")),
        arg("PUB with too many arguments", of(QUIET + "PUB foo r 2 3\r\nhi\r\n")),
        arg("PUB with a huge size", of(QUIET + "PUB foo 1000000000000\r\n")),
        arg("PUB with a size over max_payload", of(QUIET + "PUB foo 2000000\r\n")),
        arg("PUB with a trailing space", of(QUIET + "PUB foo 2 \r\nhi\r\n")),
        arg("payload longer than declared", of(QUIET + "PUB foo 2\r\nhello\r\n")),
        arg("payload shorter than declared", of(QUIET + "PUB foo 5\r\nhi\r\nXX\r\n")),
        arg("payload followed by CR and junk", of(QUIET + "PUB foo 2\r\nhi\rX")),
        arg("payload followed by LF only", of(QUIET + "PUB foo 2\r\nhi\nX")),
        arg("payload longer than declared, split", of(QUIET + "PUB foo 2\r\nh", "ello\r\n")),
        // HPUB arguments.
        arg("HPUB before CONNECT", of("HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        arg("HPUB with headers off", of(QUIET + "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")),
        arg("HPUB with a header size over the total",
            of("CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB foo 17 5\r\n")),
        arg("HPUB with one size", of("CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB foo 5\r\n")),
        arg("HPUB with a bad header size", of("CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB foo x 5\r\n")),
        arg("HPUB with a bad total size", of("CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB foo 5 x\r\n")),
        arg("HPUB with too many arguments", of("CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB a b 1 2 3\r\n")),
        // SUB and UNSUB arguments.
        arg("SUB alone", of(QUIET + "SUB\r\n")),
        arg("SUB and a space", of(QUIET + "SUB \r\n")),
        arg("SUB without a sid", of(QUIET + "SUB foo\r\n")),
        arg("SUB with too many arguments", of(VERBOSE + "SUB foo bar baz qux\r\n")),
        arg("SUB to an empty token", of(VERBOSE + "SUB foo..bar 1\r\n")),
        arg("SUB with a space: the second word is the sid", of(VERBOSE + "SUB foo bar\r\nPUB foo 1\r\nx\r\n")),
        arg("SUB to bad wildcards", of(VERBOSE + "SUB a* 1\r\nSUB .a 2\r\nSUB a. 3\r\nSUB a.>.b 4\r\nSUB *a 5\r\n")),
        arg("SUB to a wildcard-only subject is fine", of(VERBOSE + "SUB * 1\r\nSUB > 2\r\nSUB *.> 3\r\n")),
        arg("SUB with an invalid subject in pedantic mode",
            of("CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo..bar 1\r\n")),
        arg("UNSUB alone", of(QUIET + "UNSUB\r\n")),
        arg("UNSUB with too many arguments", of(QUIET + "UNSUB 1 2 3\r\n")),
        // Invalid publish subjects.
        arg("pedantic: invalid publish subjects",
            of("CONNECT {\"verbose\":true,\"pedantic\":true}\r\nPUB foo.* 2\r\nhi\r\nPUB foo..bar 0\r\n\r\nPUB .x 0\r\n\r\n")),
        arg("pedantic is on before CONNECT", of("PUB foo.* 2\r\nhi\r\n")),
        arg("subjects with empty tokens reach no one", of(QUIET + "SUB > 1\r\nPUB foo..bar 1\r\nx\r\nPUB .a 1\r\nx\r\nPUB a. 1\r\nx\r\n")),
        arg("not pedantic: a subject with an empty token reaches no one",
            of("CONNECT {\"verbose\":true,\"pedantic\":false}\r\nSUB > 1\r\nPUB foo..bar 1\r\nx\r\n")),
        arg("no 503 to a reply subject with an empty token",
            of("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB > 1\r\nPUB a..b a..b 1\r\nx\r\n")));
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
