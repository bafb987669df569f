package io.leafgate.leaf.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The event loops and channel classes: native epoll where Netty ships it (x86_64, aarch64), NIO
 * elsewhere (armhf has no native transport). One group serves every listener and the uplink.
 */
public final class Transport {
  private final boolean epoll;
  private final EventLoopGroup group;

  private Transport(boolean epoll, EventLoopGroup group) {
    this.epoll = epoll;
    this.group = group;
  }

  /** Creates the I/O loops: {@code min(cores, 4)} threads named {@code leafgate-io-N}. */
  public static Transport create(int threads) {
    boolean useEpoll = !Boolean.getBoolean("leafgate.nio") && Epoll.isAvailable();
    IoHandlerFactory f = useEpoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    int n = threads > 0 ? threads : Math.min(Runtime.getRuntime().availableProcessors(), 4);
    return new Transport(useEpoll, new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory("leafgate-io", true), f));
  }

  /**
   * Loads what {@link #create} and the first connection need (the native transport, the buffer
   * pool) so that a start-up can do it on another core while it parses its command line.
   */
  public static void warmUp() {
    if (!Boolean.getBoolean("leafgate.nio")) {
      Epoll.isAvailable();
    }
    io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(64).release();
  }

  public EventLoopGroup group() {
    return group;
  }

  public Class<? extends ServerSocketChannel> serverChannel() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  public Class<? extends SocketChannel> clientChannel() {
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }

  /** Stops the loops, waiting for them to finish. */
  public void shutdown() {
    group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
