import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request head (request line and headers) is not complete
/// `timeout` after its first byte arrived: a slow-loris client trickling header bytes holds a
/// connection for at most this long. Hummingbird's idle timeout cannot catch it on its own:
/// it counts from the last HTTP *part*, and a head that never completes is never a part.
///
/// Two handlers share the state because no single place in the pipeline sees both: the
/// bytes arrive before the HTTP decoder (`ByteWatcher`, first in the pipeline), and only
/// after the decoder does one learn that a head is complete or a response has ended (this
/// handler, added with Hummingbird's `additionalChannelHandlers`).
final class HeaderTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart

    private let timeout: TimeAmount
    /// Heads received minus responses ended: 0 while the connection waits for a request.
    private var requestsOpen = 0
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(ByteWatcher(owner: self), position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            requestsOpen += 1
            cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { requestsOpen -= 1 }
        context.write(data, promise: promise)
    }

    /// Bytes arrived: if they begin a request head, its clock starts now.
    fileprivate func bytesArrived(context: ChannelHandlerContext) {
        guard requestsOpen == 0, deadline == nil else { return }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }

    /// The byte-level half: tells `HeaderTimeout` when bytes arrive, passes them on unchanged.
    private final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        private let owner: HeaderTimeout

        init(owner: HeaderTimeout) {
            self.owner = owner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            owner.bytesArrived(context: context)
            context.fireChannelRead(data)
        }
    }
}
