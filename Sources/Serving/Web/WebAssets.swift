import Hummingbird

/// The web page, served by the app itself: no CDN, no framework, so it works offline and on a
/// hospital network that blocks third-party hosts.
enum WebAssets {
    static func response(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
