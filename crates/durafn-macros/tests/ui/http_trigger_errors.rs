use durafn::prelude::*;

#[http_trigger(auth = "everyone")]
async fn bad_auth(_req: HttpRequest, _client: DurableHttpClient) -> HttpResponse {
    HttpResponse::new(200)
}

#[http_trigger(path = "x")]
async fn unknown_argument(_req: HttpRequest, _client: DurableHttpClient) -> HttpResponse {
    HttpResponse::new(200)
}

#[http_trigger]
fn not_async(_req: HttpRequest, _client: DurableHttpClient) -> HttpResponse {
    HttpResponse::new(200)
}

fn main() {}
